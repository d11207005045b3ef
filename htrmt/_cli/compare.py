"""``htrmt compare A B``: two checkpoints of one architecture, layer by layer."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    from .analyze import add_selection_options

    p = subparsers.add_parser(
        "compare",
        help="compare two checkpoints layer by layer (d alpha, d log-norms, |A-B|/|A|, |A-B|_2)",
        description=(
            "Compare two checkpoints of one architecture (e.g. a fine-tune A and its base B): "
            "for every layer in both, alpha and the log norms of each and their differences "
            "(A - B), the relative change |A - B|_F / |A|_F and the spectral norm |A - B|_2. "
            "Both are read one tensor at a time."
        ),
    )
    p.add_argument("a", metavar="A", help="first checkpoint (file, index or folder)")
    p.add_argument("b", metavar="B", help="second checkpoint")
    add_selection_options(p)
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="default: table"
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--plot", metavar="PNG", help="write a plot of the differences over layers")
    p.add_argument(
        "--peer-conventions", action="store_true", help="weightwatcher's conventions for alpha"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..networks import compare
    from .analyze import emit, parse_kinds

    cmp = compare(
        args.a,
        args.b,
        peer_conventions=args.peer_conventions,
        layers=args.layers,
        kinds=parse_kinds(args.kind),
        split_qkv=args.split_qkv,
        progress=not args.no_progress,
    )
    emit(cmp, args.format, args.output)
    if args.plot:
        cmp.plot(args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
