"""Subcommands that moved out of the ``htrmt`` command: each prints what to run instead.

``htrmt figures``, ``htrmt repro`` and ``htrmt vsdl`` used to run the repository's script
folders and the ``vsdl`` package from inside ``htrmt``; ``htrmt`` no longer imports either.
These entries stay for one release, print the command to use and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys


def register_moved(
    sub: argparse._SubParsersAction, name: str, instead: str, where: str = ""
) -> None:
    """Add a deprecated subcommand ``name`` that tells the user to run ``instead`` (``where``)."""
    p = sub.add_parser(
        name,
        help=f"deprecated: run {instead} {where}".rstrip(),
        description=f"Deprecated: 'htrmt {name}' was removed from the htrmt command. Run:\n"
        + f"  {instead} {where}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
        prefix_chars="\x01",  # no options: every argument, --help included, is kept as given
    )
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        rest = " ".join(args.args)
        print(
            f"htrmt {name}: this subcommand was removed from the htrmt command "
            f"(deprecated, gone in the next release). Run instead:\n"
            + f"    {instead}{' ' + rest if rest else ''}"
            + (f"\n{where}" if where else ""),
            file=sys.stderr,
        )
        return 2

    p.set_defaults(func=run, moved=True)  # moved: ``main`` sets up no JAX cache for it
