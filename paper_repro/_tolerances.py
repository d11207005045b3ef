"""Derive the numbers of ``expected.json`` from the run-to-run spread.

For each reproduction, the checks are declared in its ``run.py`` (``CHECKS``). ``approx`` checks
get ``expected`` = the mean over the seeds of the quick run and ``tol`` = ``K`` × their
standard deviation (K = 4); in full mode ``expected`` = the seed-0 full run with the same
tolerance. ``min``/``max``/``one_of`` checks keep the paper's claim as declared. Checks
declared ``full_only`` have no quick expectation.

Usage::

    python -m paper_repro._tolerances --run     # run quick seeds 0-4 and full seed 0, then write
    python -m paper_repro._tolerances           # write from the runs already in out/
    python -m paper_repro._tolerances sdm2020 --seeds 0 1 2 3 4 5 6 7
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from . import _common as C
from . import available

K = 4.0


def _get(d, path: str):
    for k in path.split("."):
        d = d[k]
    return d


def _load_parts(folder: Path) -> dict:
    return {
        f.stem[len("part_") :]: json.loads(f.read_text())
        for f in sorted(folder.glob("part_*.json"))
    }


def derive(paper: str, seeds: list[int], out: str | None = None) -> dict:
    """The ``expected.json`` content of ``paper`` from the runs found under ``out``."""
    mod = importlib.import_module(f"paper_repro.{paper}.run")
    quick = [_load_parts(C.result_dir(paper, "quick", s, out)) for s in seeds]
    full = _load_parts(C.result_dir(paper, "full", 0, out))
    res = {
        "title": mod.TITLE,
        "reference": mod.REFERENCE,
        "tolerance_rule": (
            f"approx checks: expected = mean over {len(seeds)} seeds "
            f"({', '.join(map(str, seeds))}) "
            f"of the quick run, tol = {K:g} x their standard deviation; full mode: expected = the "
            f"seed-0 full run, tol = the same {K:g} x quick-mode sd (one full run only). "
            "min/max/one_of checks state the paper's claim (threshold given in 'what')."
        ),
        "checks": {},
    }
    for name, decl in mod.CHECKS.items():
        c = copy.deepcopy(decl)
        out_c = {"part": c["part"], "value": name, "what": c["what"], "kind": c["kind"]}
        if c["kind"] == "approx":
            vals = np.array([float(_get(q, name)) for q in quick])
            sd = float(vals.std(ddof=1))
            out_c["quick"] = {
                "expected": round(float(vals.mean()), 4),
                "tol": round(K * sd, 4),
                "seeds": [round(float(v), 4) for v in vals],
            }
            try:
                out_c["full"] = {
                    "expected": round(float(_get(full, name)), 4),
                    "tol": round(K * sd, 4),
                }
            except KeyError:
                out_c["full"] = {k: out_c["quick"][k] for k in ("expected", "tol")}
        else:
            if not c.get("full_only", False):
                out_c["quick"] = dict(c["spec"])
            out_c["full"] = dict(c["spec"])
        res["checks"][name] = out_c
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m paper_repro._tolerances", description=__doc__.splitlines()[0]
    )
    p.add_argument("names", nargs="*", help="reproductions (default all)")
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument(
        "--out", default=None, help="output root of the runs (default $HTRMT_OUT or out)"
    )
    p.add_argument(
        "--run", action="store_true", help="run the quick seeds and the full seed 0 first"
    )
    args = p.parse_args(argv)
    names = args.names or available()
    for paper in names:
        mod = importlib.import_module(f"paper_repro.{paper}.run")
        if args.run:
            extra = ["--out", args.out] if args.out else []
            for s in args.seeds:
                mod.main(["--quick", "--seed", str(s), *extra])
            mod.main(["--full", *extra])
        exp = derive(paper, args.seeds, args.out)
        path = C.ROOT / paper / "expected.json"
        path.write_text(json.dumps(exp, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
