"""``htrmt figures``: regenerate the figures (same as ``python -m figures``)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figures",
        help="regenerate the figures (all or some), as python -m figures",
        description="Regenerate the figures from cached simulation data (running the simulations "
        "when the data are missing).",
    )
    p.add_argument("names", nargs="*", help="figure names (default: all)")
    p.add_argument("--quick", action="store_true", help="small, fast versions")
    p.add_argument("--out", default="out/figures", help="output folder (default out/figures)")
    p.add_argument("--list", action="store_true", help="list the figure names and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from figures.__main__ import main

    argv = list(args.names) + (["--quick"] if args.quick else []) + ["--out", args.out]
    if args.list:
        argv.append("--list")
    return main(argv)
