"""``htrmt sweep``: inspect and export the output folder of an :mod:`htrmt.sweep` run."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="show the status of a sweep output folder, or export its results as CSV",
        description="Inspect a folder written by htrmt.sweep.run: what was run (grid, trials, "
        "key, devices, git commit), how many points are complete, and export the per-trial "
        "scalar results as a CSV table.",
    )
    p.add_argument("folder", help="sweep output folder")
    p.add_argument("--csv", default=None, help="write the long table (one row per trial) here")
    p.add_argument("--json", action="store_true", help="print the metadata sidecar as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from htrmt.sweep import load

    res = load(args.folder)
    meta = res.meta
    if args.json:
        print(json.dumps(meta, indent=2))
    else:
        fp = meta["fingerprint"]
        env = meta.get("environment", {})
        total = len(res.points) + len(res.missing)
        print(f"sweep folder : {res.out}")
        print(f"function     : {fp['fn']}")
        print(f"grid         : {total} points over {', '.join(meta.get('axes', {}))}")
        for k, v in meta.get("axes", {}).items():
            print(f"  {k:<10} : {v}")
        print(f"trials       : {fp['trials']} per point (x64={fp['x64']}, key={fp['key']})")
        print(
            f"complete     : {len(res.points)}/{total} points"
            + ("" if res.complete else f" ({len(res.missing)} missing)")
        )
        print(f"outputs      : {', '.join(res.names) if res.names else '-'}")
        print(
            f"runs         : {len(meta.get('runs', []))}; last on "
            f"{env.get('device_count', '?')} {env.get('backend', '?')} device(s), "
            f"jax {env.get('jax', '?')}, git {str((env.get('git') or {}).get('commit'))[:12]}"
        )
        if meta.get("meta"):
            print(f"meta         : {json.dumps(meta['meta'])}")
    if args.csv:
        import csv

        table = res.table()
        names = list(table)
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for row in zip(*(table[n].tolist() for n in names), strict=True):
                w.writerow(row)
        print(f"wrote {args.csv} ({len(table[names[0]]) if names else 0} rows)")
    return 0
