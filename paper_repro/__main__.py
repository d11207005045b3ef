"""``python -m paper_repro [NAME ...] [--quick|--full] [--seed S] [--out DIR] [--force]``."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from . import available, run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m paper_repro",
        description="Run the paper reproductions (all, or the NAMES given) and check their "
        "expected numbers.",
    )
    p.add_argument("names", nargs="*", help="reproduction names (default: all); see --list")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small and fast, as CI runs it (default)")
    g.add_argument("--full", action="store_true", help="the larger reproduction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output root (default $HTRMT_OUT or out)")
    p.add_argument("--force", action="store_true", help="recompute finished parts")
    p.add_argument("--list", action="store_true", help="list the reproductions and exit")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(available()))
        return 0
    sub = ["--full" if args.full else "--quick", "--seed", str(args.seed)]
    if args.out:
        sub += ["--out", args.out]
    if args.force:
        sub.append("--force")
    try:
        status = run(args.names, sub)
    except ValueError as err:
        print(f"python -m paper_repro: error: {err}", file=sys.stderr)
        return 2
    failed = [n for n, rc in status.items() if rc != 0]
    print(f"[paper_repro] {len(status) - len(failed)} of {len(status)} reproductions passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
