"""``htrmt tour``: sample every universality class and compare each ESD with its law."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tour",
        help="sample every universality class; print a table and write figures",
        description="Sample one matrix of every universality class (Gaussian, spiked, weakly/"
        "moderately/very heavy-tailed), print how each ESD compares with Marchenko-Pastur and "
        "with its power-law tail, and write figures to --out.",
    )
    p.add_argument("--out", default="out/tour", help="output folder (default: out/tour)")
    p.add_argument("-N", type=int, default=2000, help="rows (default 2000)")
    p.add_argument("-M", type=int, default=1000, help="columns (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-x64", dest="x64", action="store_false", help="run in float32")
    p.set_defaults(func=run, x64=True)


def run(args: argparse.Namespace) -> int:
    import jax

    from .._tour import format_table, run_tour

    if args.N < args.M:
        raise ValueError(f"-N must be >= -M, got N={args.N}, M={args.M}")
    rows = run_tour(jax.random.key(args.seed), N=args.N, M=args.M, out=args.out)
    print(format_table(rows))
    print(f"\nfigures: {args.out}/tour.png, {args.out}/tour.pdf; data: {args.out}/tour.json")
    return 0
