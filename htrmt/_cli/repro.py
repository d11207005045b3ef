"""``htrmt repro``: run the paper reproductions (same as ``python -m paper_repro``)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "repro",
        help="reproduce the papers' claims (expected vs obtained), as python -m paper_repro",
        description="Run the paper reproductions in paper_repro/ and compare with their expected "
        "numbers. Finished parts are cached and not recomputed.",
        add_help=True,
    )
    p.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="arguments of python -m paper_repro (e.g. --quick, a paper name, --list)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from paper_repro.__main__ import main

    return int(main(list(args.args)) or 0)
