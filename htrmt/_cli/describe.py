"""``htrmt describe``: what ``htrmt analyze`` would read, from the headers alone."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from .analyze import add_selection_options

    p = subparsers.add_parser(
        "describe",
        help="list what analyze would read: layers, kinds, shapes, dtypes, skipped tensors",
        description=(
            "List the layers htrmt analyze would analyse in a weight file, index file, model "
            "folder or adapter folder (names, kinds, out x in, conv slices, stored dtypes, how "
            "each is converted) and every tensor it skips with the reason, from the file "
            "headers only: no tensor data is read and no spectrum is computed."
        ),
    )
    p.add_argument("path", metavar="PATH", help="weight file, index file or folder")
    add_selection_options(p)
    p.add_argument(
        "--conv",
        choices=("slices", "flatten"),
        default="slices",
        help="conv kernels as k*k slices of out x in (default) or one flattened matrix",
    )
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="default: table"
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..networks import describe
    from .analyze import emit, parse_kinds

    plan = describe(
        args.path,
        conv=args.conv,
        kinds=parse_kinds(args.kind),
        split_qkv=args.split_qkv,
        layers=args.layers,
    )
    emit(plan, args.format, args.output)
    return 0
