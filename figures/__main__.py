"""``python -m figures [NAMES] [--quick] [--out DIR] [--list]``."""

from __future__ import annotations

import argparse
import sys

from . import available, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m figures",
        description="Regenerate the figures (all, or the NAMES given) from cached simulation data.",
    )
    p.add_argument("names", nargs="*", help="figure names (default: all); see --list")
    p.add_argument("--quick", action="store_true", help="small, fast versions (as CI runs)")
    p.add_argument("--out", default="out/figures", help="output folder (default out/figures)")
    p.add_argument("--list", action="store_true", help="list the figure names and exit")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(available()))
        return 0
    try:
        status = run(args.names, quick=args.quick, out=args.out)
    except ValueError as err:
        print(f"python -m figures: error: {err}", file=sys.stderr)
        return 2
    failed = [n for n, rc in status.items() if rc != 0]
    print(f"[figures] {len(status) - len(failed)} of {len(status)} figures written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
