"""``htrmt sweep``: run a sweep (on one process or several), inspect and export its folder."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a sweep, show the status of its output folder, or export its results as CSV",
        description="Inspect a folder written by htrmt.sweep.run: what was run (grid, trials, "
        "key, devices, git commit), how many points are complete, and export the per-trial "
        "scalar results as a CSV table. With --run, run or resume the sweep first.",
    )
    p.add_argument("folder", help="sweep output folder")
    p.add_argument("--csv", default=None, help="write the long table (one row per trial) here")
    p.add_argument("--json", action="store_true", help="print the metadata sidecar as JSON")
    r = p.add_argument_group(
        "running a sweep",
        "With --run, first run (or resume) the sweep into FOLDER, then show its status. "
        "Several processes share the grid points: as one jax.distributed job (--distributed "
        "reads the settings from SLURM and the other clusters JAX knows; --coordinator-address "
        "gives them), or independently with --num-processes and --process-id.",
    )
    r.add_argument(
        "--run",
        metavar="MODULE:FUNCTION",
        default=None,
        help="the trial function fn(key, **params), e.g. mypkg.trials:pareto_edge "
        "(the current folder is searched first)",
    )
    r.add_argument(
        "--grid",
        default=None,
        help='the grid as JSON, a dict of lists such as \'{"mu": [2.5, 3.5], "M": [100]}\' or '
        "a list of dicts; @FILE reads it from a file",
    )
    r.add_argument("--trials", type=int, default=None, help="trials per grid point")
    r.add_argument("--seed", type=int, default=0, help="the sweep's key is jax.random.key(SEED)")
    r.add_argument("--static", default=None, help="comma-separated static parameter names")
    r.add_argument("--chunk-size", type=int, default=None, help="trials per vmapped batch")
    r.add_argument("--devices", type=int, default=None, help="use the first N local devices")
    r.add_argument("--x64", action="store_true", help="compute in float64 (jax_enable_x64)")
    r.add_argument("--progress", action="store_true", help="show a progress bar")
    r.add_argument(
        "--distributed",
        action="store_true",
        help="start jax.distributed, reading unset settings from the cluster (e.g. SLURM)",
    )
    r.add_argument(
        "--coordinator-address",
        default=None,
        metavar="HOST:PORT",
        help="start jax.distributed with process 0's coordinator at HOST:PORT",
    )
    r.add_argument(
        "--num-processes", type=int, default=None, metavar="N", help="processes sharing the grid"
    )
    r.add_argument(
        "--process-id",
        type=int,
        default=None,
        metavar="I",
        help="this process's number (0..N-1); it computes the points i with i %% N == I",
    )
    p.set_defaults(func=run)


def _trial_function(spec: str):
    mod_name, sep, fn_name = spec.partition(":")
    if not sep or not mod_name or not fn_name:
        raise ValueError(f"--run must be MODULE:FUNCTION, got --run={spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(mod_name)
    except ImportError as err:
        raise ValueError(f"--run={spec!r}: cannot import {mod_name!r} ({err})") from None
    for part in fn_name.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"--run={spec!r}: {mod_name!r} has no {fn_name!r}")
        obj = getattr(obj, part)
    return obj


def _grid(text: str):
    src = text
    if text.startswith("@"):
        with open(text[1:]) as f:
            src = f.read()
    try:
        return json.loads(src)
    except json.JSONDecodeError as err:
        raise ValueError(f"--grid is not valid JSON ({err}): {text[:80]!r}") from None


def _run_sweep(args: argparse.Namespace) -> None:
    for flag in ("grid", "trials"):
        if getattr(args, flag) is None:
            raise ValueError(f"--run needs --{flag}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got --seed={args.seed}")
    from htrmt.sweep._processes import processes

    # jax.distributed first: it can only start before JAX runs anything (such as making the key)
    procs = processes(
        coordinator_address=args.coordinator_address,
        num_processes=args.num_processes,
        process_id=args.process_id,
        distributed=True if args.distributed else None,
    )
    import jax

    from htrmt.sweep import run as run_sweep

    static = None if args.static is None else tuple(s for s in args.static.split(",") if s)
    run_sweep(
        jax.random.key(args.seed),
        _trial_function(args.run),
        _grid(args.grid),
        trials=args.trials,
        out=args.folder,
        static=static,
        chunk_size=args.chunk_size,
        devices=args.devices,
        progress=args.progress,
        meta={"seed": args.seed},
        num_processes=procs.count if procs.count > 1 else None,
        process_id=procs.index if procs.count > 1 else None,
    )


def run(args: argparse.Namespace) -> int:
    if args.run is not None:
        _run_sweep(args)
    else:
        for flag in ("grid", "trials", "coordinator_address", "num_processes", "process_id"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} needs --run MODULE:FUNCTION")
        if args.distributed:
            raise ValueError("--distributed needs --run MODULE:FUNCTION")
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
