"""The ``htrmt`` command.

Subcommands live in ``htrmt/_cli/<name>.py``; each module defines ``register(subparsers)``
which adds its parser and sets ``func`` (called with the parsed namespace, returning an exit
code). New subcommands plug in by adding a module there. Building the parser imports neither
JAX nor numpy: a subcommand module imports what it needs inside its ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__  # the package's __init__ is light: it imports subpackages lazily


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="htrmt",
        description=(
            "Heavy-tailed random matrix theory: sample ensembles, compute spectra and their laws, "
            "fit power laws, and analyze neural-network weights (Heavy-Tailed Self-Regularization)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"htrmt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import _cli

    for info in sorted(pkgutil.iter_modules(_cli.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{_cli.__name__}.{info.name}")
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``htrmt`` command on ``argv`` (default: the process's command line).

    Run from the command line (``argv`` is ``None``), a subcommand uses JAX's persistent
    compilation cache (:func:`htrmt.enable_compilation_cache`; ``HTRMT_COMPILATION_CACHE=0``
    turns it off). A caller that passes ``argv`` keeps its own process's JAX settings.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if args.command is None else 2
    if argv is None and not getattr(args, "moved", False):
        from ._cache import enable_compilation_cache

        enable_compilation_cache()
    if getattr(args, "x64", False):
        import jax

        jax.config.update("jax_enable_x64", True)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"htrmt {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
