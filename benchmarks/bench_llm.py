"""htrmt against weightwatcher on sharded LLM checkpoints with a real layout, size and dtype.

The checkpoints are synthetic but shipped the way Hugging Face ships models: a folder with
``config.json`` (a real Qwen2 / Llama config), ``model-0000K-of-0000S.safetensors`` shards in
bf16 and ``model.safetensors.index.json``, every tensor of the architecture under its HF name.
Each weight matrix is ``W = U diag(s) Vᵀ`` with one random orthonormal pair ``(U, V)`` per
shape and eigenvalues ``λ = s²/N`` of ``WᵀW/N`` drawn from a Pareto law with density
``ρ(λ) ~ λ^-α`` above ``λ_min``; α is drawn per tensor, uniformly in [2, 5], and written to
``planted_alpha.json`` in the folder, so the true exponent of every layer is known. The shards
are written one tensor at a time (the builder holds one matrix and the bases of its shape), and
cached under ``out/bench_llm/``.

Presets: ``qwen2-0.5b`` (Qwen2-0.5B: hidden 896, intermediate 4864, 14 heads, 2 KV heads,
24 layers, vocab 151936, tied embeddings, q/k/v biases), ``7b-width`` (Llama-2-7B widths:
hidden 4096, intermediate 11008, 32 heads, 32 KV heads, vocab 32000, untied; ``--layers 2,4``
builds 2 and 4 blocks, so depth changes and width does not), ``tiny`` (the Qwen2 layout at
toy widths, for ``--quick``).

Each analysis runs in a fresh child process; every child gets OPENBLAS/OMP/MKL_NUM_THREADS=1
and ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` (the peer
also gets ``torch.set_num_threads(1)``). The checkpoint files are in the OS page cache for every
run. Measured, medians over ``--repeats`` fresh processes per tool:

- htrmt cold: ``htrmt analyze DIR --format csv -o FILE --no-progress``, wall time from process
  start to exit (imports, reading, compilation, writing the CSV);
- htrmt warm: ``htrmt.analyze(DIR)`` and ``htrmt.analyze(DIR, peer_conventions=True)`` in one
  process, each timed after an untimed warm-up call of the same kind;
- weightwatcher: ``WeightWatcher(model=DIR).analyze()`` (its reader for a folder of
  safetensors shards); cold: process start to the end of the first analysis (its CSV written);
  warm: the second ``analyze()`` in that process;
- peak RSS: ``ru_maxrss`` of each child (``os.wait4``) and the peak anonymous / file-backed
  resident memory sampled from ``/proc/PID/status`` every 20 ms.

Accuracy: per-layer α of ``htrmt.analyze(DIR, peer_conventions=True)`` against weightwatcher's
(layers matched by name), and htrmt's default α against the planted α.

Usage:
    python benchmarks/bench_llm.py [--preset qwen2-0.5b] [--repeats 3] [--json FILE]
    python benchmarks/bench_llm.py --preset 7b-width --layers 2,4 [--peer]
    python benchmarks/bench_llm.py --quick
    python benchmarks/bench_llm.py --build-only --preset 7b-width --layers 2,4
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "HF_HUB_OFFLINE": "1",
    "MPLBACKEND": "Agg",
    "TQDM_DISABLE": "1",
}
os.environ.update(THREAD_ENV)  # the builder too: threaded BLAS busy-waits on a shared 2-core box

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "out" / "bench_llm"
THREADS_LINE = (
    "threads (the build and every analysis, each analysis in a fresh process): "
    "OPENBLAS/OMP/MKL_NUM_THREADS=1, "
    "XLA_FLAGS='--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1'; "
    "weightwatcher also torch.set_num_threads(1)"
)

# ---------------------------------------------------------------------------------------------
# configurations

_QWEN2_COMMON = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "hidden_act": "silu",
    "initializer_range": 0.02,
    "max_position_embeddings": 131072,
    "model_type": "qwen2",
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 131072,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.1",
    "use_cache": True,
    "use_sliding_window": False,
}

PRESETS: dict[str, dict] = {
    "qwen2-0.5b": {
        **_QWEN2_COMMON,
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "num_hidden_layers": 24,
        "max_window_layers": 24,
        "vocab_size": 151936,
        "tie_word_embeddings": True,
    },
    "7b-width": {  # Llama-2-7B
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": 4096,
        "initializer_range": 0.02,
        "intermediate_size": 11008,
        "max_position_embeddings": 4096,
        "model_type": "llama",
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 32,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.31.0",
        "use_cache": True,
        "vocab_size": 32000,
    },
    "tiny": {  # the Qwen2 layout at toy widths, for --quick
        **_QWEN2_COMMON,
        "hidden_size": 256,
        "intermediate_size": 1024,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_hidden_layers": 2,
        "max_window_layers": 2,
        "vocab_size": 8192,
        "tie_word_embeddings": True,
    },
}

ALPHA_RANGE = (2.0, 5.0)  # planted density exponents, uniform per tensor
LAMBDA_MIN = 4e-4  # lower end of the planted Pareto law (element scale about 0.02)
BUILD_VERSION = 1


def tensor_specs(cfg: dict) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor of a Qwen2 / Llama decoder, HF names and shapes, in state-dict order."""
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = h // nh
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    specs: list[tuple[str, tuple[int, ...]]] = [
        ("model.embed_tokens.weight", (cfg["vocab_size"], h))
    ]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for proj, out in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
            specs.append((f"{p}self_attn.{proj}_proj.weight", (out, h)))
            if bias:
                specs.append((f"{p}self_attn.{proj}_proj.bias", (out,)))
        specs.append((f"{p}self_attn.o_proj.weight", (h, nh * hd)))
        specs.append((f"{p}mlp.gate_proj.weight", (inter, h)))
        specs.append((f"{p}mlp.up_proj.weight", (inter, h)))
        specs.append((f"{p}mlp.down_proj.weight", (h, inter)))
        specs.append((f"{p}input_layernorm.weight", (h,)))
        specs.append((f"{p}post_attention_layernorm.weight", (h,)))
    specs.append(("model.norm.weight", (h,)))
    if not cfg["tie_word_embeddings"]:
        specs.append(("lm_head.weight", (cfg["vocab_size"], h)))
    return specs


def planted_alpha(seed: int, name: str) -> float:
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return float(rng.uniform(*ALPHA_RANGE))


def planted_eigenvalues(seed: int, name: str, M: int) -> tuple[float, np.ndarray]:
    """α and M eigenvalues of WᵀW/N drawn from the Pareto density ρ(λ) ~ λ^-α on [λ_min, ∞)."""
    alpha = planted_alpha(seed, name)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 1])
    u = rng.random(M)
    lam = LAMBDA_MIN * (1.0 - u) ** (-1.0 / (alpha - 1.0))
    return alpha, lam


class _Bases:
    """One random orthonormal pair (U: N×M, V: M×M) per shape, float32, kept for the build."""

    def __init__(self, seed: int):
        self.seed = seed
        self.cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, N: int, M: int) -> tuple[np.ndarray, np.ndarray]:
        if (N, M) not in self.cache:
            rng = np.random.default_rng([self.seed, N, M, 2])
            U, _ = np.linalg.qr(rng.standard_normal((N, M), dtype=np.float32))
            V, _ = np.linalg.qr(rng.standard_normal((M, M), dtype=np.float32))
            self.cache[(N, M)] = (U, V)
        return self.cache[(N, M)]


def make_tensor(seed: int, name: str, shape: tuple[int, ...], bases: _Bases):
    """The float32 tensor ``name`` and, for a matrix, its planted α (None for vectors)."""
    if len(shape) == 1:
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 3])
        if name.endswith("norm.weight"):
            return (1.0 + 0.05 * rng.standard_normal(shape)).astype(np.float32), None
        return (0.02 * rng.standard_normal(shape)).astype(np.float32), None
    out, inp = shape
    N, M = max(out, inp), min(out, inp)
    alpha, lam = planted_eigenvalues(seed, name, M)
    U, V = bases(N, M)
    s = np.sqrt(N * lam).astype(np.float32)
    W = (U * s) @ V.T  # N×M, eigenvalues of WᵀW/N are lam (to float32/bf16 rounding)
    return (W if out >= inp else W.T), alpha


def _shard_plan(specs, max_shard_bytes: int) -> list[list[tuple[str, tuple[int, ...]]]]:
    """HF's greedy sharding in state-dict order; at least two shards."""
    sizes = [2 * math.prod(shape) for _, shape in specs]
    limit = max_shard_bytes
    while True:
        shards: list[list] = [[]]
        used = 0
        for spec, nb in zip(specs, sizes, strict=True):
            if shards[-1] and used + nb > limit:
                shards.append([])
                used = 0
            shards[-1].append(spec)
            used += nb
        if len(shards) >= 2:
            return shards
        limit = max(1, limit // 2)


def _header(entries: list[tuple[str, tuple[int, ...]]]) -> tuple[bytes, list[int]]:
    """safetensors header: {name: {dtype, shape, data_offsets}}, padded to 8 bytes."""
    meta: dict = {"__metadata__": {"format": "pt"}}
    offsets = []
    pos = 0
    for name, shape in entries:
        nb = 2 * math.prod(shape)
        meta[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [pos, pos + nb]}
        offsets.append(pos)
        pos += nb
    raw = json.dumps(meta, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return raw, offsets


def checkpoint_dir(preset: str, layers: int | None, seed: int) -> Path:
    cfg = PRESETS[preset]
    L = cfg["num_hidden_layers"] if layers is None else layers
    return CACHE / f"{preset}-L{L}-seed{seed}"


def build_checkpoint(
    preset: str,
    layers: int | None = None,
    *,
    seed: int = 0,
    max_shard_mb: int = 500,
    rebuild: bool = False,
) -> tuple[Path, bool]:
    """Write (or find in the cache) a sharded bf16 HF checkpoint: its folder, whether built."""
    import ml_dtypes

    cfg = dict(PRESETS[preset])
    if layers is not None:
        cfg["num_hidden_layers"] = layers
        if "max_window_layers" in cfg:
            cfg["max_window_layers"] = layers
    out = checkpoint_dir(preset, layers, seed)
    sidecar = out / "planted_alpha.json"
    key = hashlib.sha256(
        json.dumps([cfg, seed, max_shard_mb, ALPHA_RANGE, LAMBDA_MIN, BUILD_VERSION]).encode()
    ).hexdigest()[:16]
    if not rebuild and sidecar.exists():
        try:
            if json.loads(sidecar.read_text()).get("build_key") == key:
                return out, False
        except (OSError, ValueError):
            pass
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    specs = tensor_specs(cfg)
    shards = _shard_plan(specs, max_shard_mb * 2**20)
    S = len(shards)
    bases = _Bases(seed)
    weight_map: dict[str, str] = {}
    alphas: dict[str, float] = {}
    total = 0
    t0 = time.perf_counter()
    for k, entries in enumerate(shards, start=1):
        fname = f"model-{k:05d}-of-{S:05d}.safetensors"
        raw, offsets = _header(entries)
        tmp = out / (fname + ".part")
        with open(tmp, "wb") as fh:
            fh.write(len(raw).to_bytes(8, "little"))
            fh.write(raw)
            base = fh.tell()
            for (name, shape), off in zip(entries, offsets, strict=True):
                w, alpha = make_tensor(seed, name, shape, bases)
                assert fh.tell() - base == off
                fh.write(w.astype(ml_dtypes.bfloat16).tobytes())
                del w
                weight_map[name] = fname
                total += 2 * math.prod(shape)
                if alpha is not None:
                    alphas[name] = alpha
        tmp.rename(out / fname)
    (out / "model.safetensors.index.json").write_text(
        json.dumps(
            {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
            indent=2,
        )
        + "\n"
    )
    (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    _verify(out, specs, seed)
    sidecar.write_text(
        json.dumps(
            {
                "preset": preset,
                "num_hidden_layers": cfg["num_hidden_layers"],
                "seed": seed,
                "alpha_range": ALPHA_RANGE,
                "lambda_min": LAMBDA_MIN,
                "law": "eigenvalues of W^T W / N (N = larger side) i.i.d. Pareto, density "
                "~ lambda^-alpha on [lambda_min, inf); W = U diag(s) V^T, one random orthonormal "
                "(U, V) per shape; stored in bf16",
                "build_seconds": round(time.perf_counter() - t0, 1),
                "total_size": total,
                "num_shards": S,
                "build_key": key,
                "alpha": alphas,
            },
            indent=1,
        )
        + "\n"
    )
    return out, True


def _verify(out: Path, specs, seed: int) -> None:
    """Read the shards back with the safetensors package: every tensor present with its shape,
    and the spectrum of the smallest matrix equal to the planted one (to bf16 rounding)."""
    from safetensors import safe_open

    index = json.loads((out / "model.safetensors.index.json").read_text())["weight_map"]
    names = {}
    for fname in sorted(set(index.values())):
        with safe_open(str(out / fname), framework="pt") as f:
            for k in f.keys():
                names[k] = tuple(f.get_slice(k).get_shape())
    expect = dict(specs)
    if names != expect:
        raise RuntimeError(f"checkpoint {out} does not hold the expected tensors")
    name, shape = min(((n, s) for n, s in specs if len(s) == 2), key=lambda x: math.prod(x[1]))
    with safe_open(str(out / index[name]), framework="pt") as f:
        w = f.get_tensor(name).float().numpy().astype(np.float64)
    N, M = max(shape), min(shape)
    G = w.T @ w if shape[0] >= shape[1] else w @ w.T
    got = np.linalg.eigvalsh(G / N)
    _, lam = planted_eigenvalues(seed, name, M)
    rel = np.abs(got[-10:] / np.sort(lam)[-10:] - 1)
    if not np.all(rel < 1e-2):
        raise RuntimeError(f"{name}: top eigenvalues off the planted ones by {rel.max():.2e}")


# ---------------------------------------------------------------------------------------------
# children (each analysis in a fresh process)


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ww(path: str, csv_path: str, warm: int) -> int:
    import logging

    import torch

    torch.set_num_threads(1)
    import weightwatcher as ww

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    watcher = ww.WeightWatcher(model=path)
    df = watcher.analyze()
    df.to_csv(csv_path, index=False)
    t_first = time.time()
    rss_first = _maxrss_mb()
    times = []
    for _ in range(warm):
        t0 = time.perf_counter()
        watcher.analyze()
        times.append(time.perf_counter() - t0)
    print(
        "RESULT "
        + json.dumps(
            {
                "t_first_done": t_first,
                "maxrss_first_mb": rss_first,
                "warm": times,
                "maxrss_mb": _maxrss_mb(),
                "version": ww.__version__,
                "torch": torch.__version__,
                "layers": len(df),
            }
        ),
        flush=True,
    )
    return 0


def child_htrmt(path: str, prefix: str, warm: int, skip: str) -> int:
    """Warm timings in one process, after an untimed call of each kind: ``warm`` timed runs of
    the default (workers=1) and peer-conventions calls, one of each secondary variant."""
    import htrmt as ht

    subset = {n.removesuffix(".weight") for n in skip.split(",") if n}
    runs = {  # label: (keywords, timed runs); the secondary ones once
        "default_j1": ({"workers": 1}, warm),
        "default_auto": ({}, 1),
        "subset_j1": (
            {"workers": 1, "layers": lambda n: n.removesuffix(".weight") not in subset},
            1,
        ),
        "peer_j1": ({"workers": 1, "peer_conventions": True}, warm),
    }
    if not subset:
        del runs["subset_j1"]
    rep = ht.analyze(path, workers=1)
    res: dict = {
        "t_first_done": time.time(),
        "maxrss_first_mb": _maxrss_mb(),
        "layers": len(rep.layers),
    }
    Path(prefix + "default.csv").write_text(rep.to_csv())
    for label, (kw, n) in runs.items():
        if label == "peer_j1":
            rep = ht.analyze(path, **kw)  # its own warm-up (the peer's fit path compiles)
            Path(prefix + "peer.csv").write_text(rep.to_csv())
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            ht.analyze(path, **kw)
            times.append(time.perf_counter() - t0)
        res[label] = times
    import jax

    res.update(maxrss_mb=_maxrss_mb(), version=ht.__version__, jax=jax.__version__)
    print("RESULT " + json.dumps(res), flush=True)
    return 0


def _read_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    out[k] = int(v.split()[0])
    except (OSError, ValueError):
        pass
    return out


def run_child(cmd: list[str], log: Path, timeout: float, env: dict | None = None) -> dict:
    """Run ``cmd`` with the pinned threads; wall time, ``ru_maxrss`` and sampled peaks."""
    env = {**os.environ, **THREAD_ENV, **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        t0_wall = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        peak = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0}
        status = None
        while status is None:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = (st, ru)
                break
            for k, v in _read_status(proc.pid).items():
                if k in peak:
                    peak[k] = max(peak[k], v)
            if time.perf_counter() - t0 > timeout:
                proc.kill()
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status[0])
    text = log.read_text(errors="replace")
    result = None
    for line in text.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    return {
        "rc": proc.returncode,
        "wall": wall,
        "t0_wall": t0_wall,
        "maxrss_mb": status[1].ru_maxrss / 1024,
        "peak_anon_mb": peak["RssAnon"] / 1024,
        "peak_file_mb": peak["RssFile"] / 1024,
        "result": result,
        "tail": "\n".join(text.splitlines()[-6:]),
    }


def _htrmt_cli() -> list[str]:
    exe = Path(sys.executable).parent / "htrmt"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "htrmt"]


# ---------------------------------------------------------------------------------------------
# comparison


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {r["name"].removesuffix(".weight"): r for r in csv.DictReader(fh)}


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def compare_alpha(a: dict, b: dict) -> dict:
    """|Δα| over the layers both have, matched by name."""
    common = sorted(set(a) & set(b))
    d = {n: _f(a[n]["alpha"]) - _f(b[n]["alpha"]) for n in common}
    fin = {n: v for n, v in d.items() if math.isfinite(v)}
    ad = np.abs(np.array(list(fin.values()))) if fin else np.array([np.nan])
    worst = sorted(fin, key=lambda n: -abs(fin[n]))[:5]
    return {
        "n": len(fin),
        "median": float(np.median(ad)),
        "max": float(np.max(ad)),
        "n_gt_0.01": int(np.sum(ad > 0.01)),
        "worst": [(n, fin[n]) for n in worst],
        "only_a": sorted(set(a) - set(b)),
        "only_b": sorted(set(b) - set(a)),
    }


def compare_planted(rows: dict, planted: dict[str, float]) -> dict:
    planted = {k.removesuffix(".weight"): v for k, v in planted.items()}
    common = sorted(set(rows) & set(planted))
    d, z = [], []
    for n in common:
        a, s = _f(rows[n]["alpha"]), _f(rows[n].get("sigma"))
        if math.isfinite(a):
            d.append(a - planted[n])
            if math.isfinite(s) and s > 0:
                z.append((a - planted[n]) / s)
    ad = np.abs(np.array(d)) if d else np.array([np.nan])
    return {
        "n": len(d),
        "of": len(planted),
        "median": float(np.median(ad)),
        "max": float(np.max(ad)),
        "bias": float(np.median(d)) if d else float("nan"),
        "within_2sigma": float(np.mean(np.abs(z) <= 2)) if z else float("nan"),
    }


# ---------------------------------------------------------------------------------------------
# driver


def _med(xs) -> float:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.median(xs) if xs else float("nan")


def _machine() -> str:
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 2**20:.0f} GB"
    except OSError:
        pass
    la = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()} CPU, {os.cpu_count()} cores, {mem}; {platform.platform()}; "
        f"Python {platform.python_version()}; load average {la}"
    )


PEER_MAX_N = 50000  # weightwatcher 0.7 skips a matrix whose larger side exceeds max_N


def peer_skips(path: Path) -> list[str]:
    """Matrices weightwatcher's defaults skip (larger side > max_N), from config.json."""
    cfg = json.loads((path / "config.json").read_text())
    return [n for n, sh in tensor_specs(cfg) if len(sh) == 2 and max(sh) > PEER_MAX_N]


def _fmt_run(c: dict) -> str:
    return (
        f"rc={c['rc']} {c['wall']:.1f} s, maxrss {c['maxrss_mb']:.0f} MB "
        f"(anon peak {c['peak_anon_mb']:.0f}, file-backed peak {c['peak_file_mb']:.0f})"
    )


def _failed(c: dict, what: str) -> bool:
    if c["rc"] == 0:
        return False
    print(f"  {what} failed: rc={c['rc']}\n    " + c["tail"].replace("\n", "\n    "))
    return True


def bench_checkpoint(path: Path, args, *, peer: bool, tag: str) -> dict:
    side = json.loads((path / "planted_alpha.json").read_text())
    out = CACHE / "runs" / tag
    out.mkdir(parents=True, exist_ok=True)
    size = side["total_size"]
    skip = peer_skips(path)
    print(
        f"\n== {tag}: {path.relative_to(ROOT)}: {side['num_shards']} shards, "
        f"{size / 2**30:.2f} GiB bf16, {len(side['alpha'])} matrices, "
        f"planted alpha in {side['alpha_range']}",
        flush=True,
    )
    res: dict = {"checkpoint": str(path.relative_to(ROOT)), "bytes": size, "tag": tag}
    R = args.repeats

    # --- htrmt cold: the CLI, each run with an empty JAX compilation cache of its own
    def cli(label: str, extra: list[str], r: int, cache: Path | None = None) -> dict:
        csv_path = out / f"htrmt_{label}_{r}.csv"
        cmd = _htrmt_cli() + ["analyze", str(path), "--format", "csv", "-o", str(csv_path)]
        cmd += ["--no-progress"] + extra
        cache = cache or out / f"jaxcache_{label}_{r}"
        if cache.exists() and not label.endswith("primed"):
            for f in sorted(cache.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
        env = {"HTRMT_CACHE_DIR": str(cache)}
        c = run_child(cmd, out / f"htrmt_{label}_{r}.log", args.timeout, env)
        print(f"  htrmt CLI {label} #{r}: {_fmt_run(c)}", flush=True)
        return c

    runs: dict[str, list[dict]] = {}
    plan = [("j1", ["-j", "1"], R)]  # the headline: one core, like the peer
    if not args.j1_only:
        plan.append(("auto", [], 1))  # as shipped: spectrum workers on every core
    for label, extra, n in plan:
        runs[label] = []
        for r in range(n):
            c = cli(label, extra, r)
            runs[label].append(c)
            if _failed(c, f"htrmt CLI {label}"):
                break
    if not args.cold_only and runs["j1"][0]["rc"] == 0:
        runs["j1_primed"] = [cli("j1_primed", ["-j", "1"], 0, out / "jaxcache_j1_0")]
    if skip and not args.cold_only:
        excl = "|".join(n.removesuffix(".weight").replace(".", r"\.") for n in skip)
        runs["subset_j1"] = [cli("subset_j1", ["-j", "1", "--layers", f"^(?!({excl}))"], 0)]
    res["htrmt_cli"] = runs

    # --- htrmt warm: one Python process
    hw = None
    if not args.cold_only:
        cmd = [sys.executable, __file__, "--child", "htrmt", str(path)]
        cmd += ["--child-out", str(out / "htrmt_py_"), "--child-warm", str(R)]
        cmd += ["--child-skip", ",".join(skip)]
        hw = run_child(cmd, out / "htrmt_py.log", args.timeout)
        if not _failed(hw, "htrmt Python") and hw["result"]:
            rr = hw["result"]
            print(
                f"  htrmt Python: first call (cold, workers=1) "
                f"{rr['t_first_done'] - hw['t0_wall']:.1f} s; warm (default_j1, peer_j1: median "
                f"of {R}; the others one run): "
                + ", ".join(f"{k} {_med(rr[k]):.2f} s" for k in rr if k.endswith(("_j1", "auto")))
                + f"; maxrss {hw['maxrss_mb']:.0f} MB",
                flush=True,
            )
    res["htrmt_py"] = hw

    # --- weightwatcher: R fresh processes, cold then warm in each
    wwr = []
    if peer:
        for r in range(R):
            cmd = [sys.executable, __file__, "--child", "ww", str(path)]
            cmd += ["--child-out", str(out / f"ww_{r}.csv")]
            cmd += ["--child-warm", "0" if args.cold_only else "1"]
            c = run_child(cmd, out / f"ww_{r}.log", args.timeout)
            wwr.append(c)
            if _failed(c, "weightwatcher") or c["result"] is None:
                break
            rr = c["result"]
            warm = f"{rr['warm'][0]:.1f} s" if rr["warm"] else "-"
            print(
                f"  weightwatcher #{r}: cold {rr['t_first_done'] - c['t0_wall']:.1f} s, "
                f"warm {warm}; maxrss after the first analysis {rr['maxrss_first_mb']:.0f} MB; "
                f"whole process {_fmt_run(c)}",
                flush=True,
            )
    res["ww"] = wwr

    def ok(cs):
        return [c for c in cs or [] if c["rc"] == 0]

    s: dict[str, float] = {}
    for label, cs in runs.items():
        s[f"cli_{label}"] = _med([c["wall"] for c in ok(cs)])
        s[f"cli_{label}_rss"] = _med([c["maxrss_mb"] for c in ok(cs)])
        s[f"cli_{label}_anon"] = _med([c["peak_anon_mb"] for c in ok(cs)])
    if hw and hw["rc"] == 0 and hw["result"]:
        rr = hw["result"]
        s["py_cold_j1"] = rr["t_first_done"] - hw["t0_wall"]
        for k in ("default_j1", "default_auto", "subset_j1", "peer_j1"):
            if k in rr:
                s[f"warm_{k}"] = _med(rr[k])
        s["py_rss"] = hw["maxrss_mb"]
        res["htrmt_version"], res["jax"] = rr["version"], rr["jax"]
    okw = [c for c in ok(wwr) if c["result"]]
    if okw:
        s["ww_cold"] = _med([c["result"]["t_first_done"] - c["t0_wall"] for c in okw])
        s["ww_warm"] = _med([c["result"]["warm"][0] for c in okw if c["result"]["warm"]])
        s["ww_rss_first"] = _med([c["result"]["maxrss_first_mb"] for c in okw])
        s["ww_rss"] = _med([c["maxrss_mb"] for c in okw])
        s["ww_anon"] = _med([c["peak_anon_mb"] for c in okw])
        res["ww_version"] = okw[0]["result"]["version"]
        res["ww_layers"] = okw[0]["result"]["layers"]
    res["summary"] = s
    res["peer_skips"] = skip

    planted = side["alpha"]
    if ok(runs["j1"]):
        rows = _read_csv(out / "htrmt_j1_0.csv")
        res["htrmt_layers"] = len(rows)
        res["planted_htrmt"] = compare_planted(rows, planted)
        if ok(runs.get("auto")):
            same = (out / "htrmt_auto_0.csv").read_text() == (out / "htrmt_j1_0.csv").read_text()
            res["auto_same_csv"] = same
    if okw:
        ww_rows = _read_csv(out / "ww_0.csv")
        res["planted_ww"] = compare_planted(ww_rows, planted)
        if (out / "htrmt_py_peer.csv").exists():
            res["agreement"] = compare_alpha(_read_csv(out / "htrmt_py_peer.csv"), ww_rows)
    _print_summary(res)
    return res


def _ratio(a: float | None, b: float | None) -> float:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return float("nan")
    return a / b


def _print_summary(res: dict) -> None:
    s = res["summary"]
    g = s.get
    nan = float("nan")
    print(f"  -- {res['tag']}: medians")

    def line(head: str, items, fmt: str, unit: str) -> None:
        got = [f"{label} {g(k):{fmt}} {unit}" for label, k in items if math.isfinite(g(k, nan))]
        if got:
            print(f"  {head}: " + ", ".join(got))

    line(
        "htrmt cold",
        [
            ("CLI -j 1", "cli_j1"),
            ("CLI default workers", "cli_auto"),
            ("CLI -j 1 with the compilation cache of a previous run", "cli_j1_primed"),
            ("CLI -j 1 on the peer's layer set", "cli_subset_j1"),
            ("Python first call (workers=1)", "py_cold_j1"),
        ],
        ".1f",
        "s",
    )
    line(
        "htrmt warm",
        [
            ("workers=1", "warm_default_j1"),
            ("default workers", "warm_default_auto"),
            ("workers=1 on the peer's layer set", "warm_subset_j1"),
            ("peer_conventions=True workers=1", "warm_peer_j1"),
        ],
        ".2f",
        "s",
    )
    rss = [
        f"{label} {g(k):.0f} MB (anon {g(k.replace('_rss', '_anon'), nan):.0f})"
        for label, k in (
            ("CLI -j 1", "cli_j1_rss"),
            ("CLI default workers", "cli_auto_rss"),
            ("CLI -j 1 on the peer's layer set", "cli_subset_j1_rss"),
        )
        if math.isfinite(g(k, nan))
    ]
    if math.isfinite(g("py_rss", nan)):
        rss.append(f"warm Python process {g('py_rss'):.0f} MB")
    if rss:
        print("  htrmt peak RSS: " + ", ".join(rss))
    if "ww_cold" in s:
        print(
            f"  weightwatcher {res.get('ww_version')}: cold {s['ww_cold']:.1f} s, warm "
            f"{s['ww_warm']:.1f} s; peak RSS {s['ww_rss_first']:.0f} MB after one analysis, "
            f"{s['ww_rss']:.0f} MB whole process (anon {s['ww_anon']:.0f} MB); "
            f"{res['ww_layers']} rows, skipped by its max_N: {res['peer_skips']}"
        )
        print(
            "  ratios peer / htrmt: warm "
            f"{_ratio(g('ww_warm'), g('warm_default_j1')):.2f}x (workers=1), "
            f"{_ratio(g('ww_warm'), g('warm_subset_j1')):.2f}x (workers=1, peer's layer set), "
            f"{_ratio(g('ww_warm'), g('warm_peer_j1')):.2f}x (peer conventions, workers=1), "
            f"{_ratio(g('ww_warm'), g('warm_default_auto')):.2f}x (default workers); cold "
            f"{_ratio(g('ww_cold'), g('cli_j1')):.2f}x (CLI -j 1), "
            f"{_ratio(g('ww_cold'), g('cli_subset_j1')):.2f}x (CLI -j 1, peer's layer set), "
            f"{_ratio(g('ww_cold'), g('cli_auto')):.2f}x (CLI default workers)"
        )
        print(
            "  peak RSS htrmt / peer (after one analysis): "
            f"{_ratio(g('cli_j1_rss'), g('ww_rss_first')):.2f} (CLI -j 1), "
            f"{_ratio(g('cli_subset_j1_rss'), g('ww_rss_first')):.2f} (peer's layer set), "
            f"{_ratio(g('cli_auto_rss'), g('ww_rss_first')):.2f} (default workers)"
        )
    if "auto_same_csv" in res:
        print(f"  CSV of -j 1 and default workers identical: {res['auto_same_csv']}")
    for key, label in (("planted_htrmt", "htrmt default"), ("planted_ww", "weightwatcher")):
        if key in res:
            p = res[key]
            print(
                f"  {label} alpha vs planted: {p['n']} of {p['of']} matrices, median |d| "
                f"{p['median']:.3f}, max {p['max']:.3f}, median d {p['bias']:+.3f}, "
                f"within 2 sigma of the fit: {p['within_2sigma']:.0%}"
            )
    if "agreement" in res:
        a = res["agreement"]
        print(
            f"  alpha, htrmt peer_conventions vs weightwatcher: {a['n']} layers, median |d| "
            f"{a['median']:.2e}, max {a['max']:.2e}, {a['n_gt_0.01']} above 0.01; worst "
            + ", ".join(f"{n} {d:+.3g}" for n, d in a["worst"][:3])
        )
        if a["only_a"] or a["only_b"]:
            print(f"  only htrmt: {a['only_a'][:6]}; only weightwatcher: {a['only_b'][:6]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="qwen2-0.5b")
    ap.add_argument("--layers", default=None, help="blocks to build, e.g. 2 or 2,4")
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per tool")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-mb", type=int, default=500, help="largest shard (HF greedy rule)")
    ap.add_argument("--peer", action="store_true", help="run weightwatcher on 7b-width too")
    ap.add_argument("--no-peer", action="store_true", help="htrmt only")
    ap.add_argument("--cold-only", action="store_true", help="no warm runs (one analysis each)")
    ap.add_argument("--j1-only", action="store_true", help="htrmt CLI with -j 1 only")
    ap.add_argument("--quick", action="store_true", help="tiny preset, one repeat (smoke run)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", choices=("htrmt", "ww"), help=argparse.SUPPRESS)
    ap.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    ap.add_argument("--child-warm", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--child-skip", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "ww":
        return child_ww(args.path, args.child_out, args.child_warm)
    if args.child == "htrmt":
        return child_htrmt(args.path, args.child_out, args.child_warm, args.child_skip)

    if args.quick:
        args.preset, args.repeats, args.shard_mb = "tiny", 1, 4
    layer_list = [None] if args.layers is None else [int(x) for x in args.layers.split(",")]
    date = datetime.date.today().isoformat()
    print(f"bench_llm {date}; machine: {_machine()}")
    print(THREADS_LINE)
    paths = []
    for L in layer_list:
        p, built = build_checkpoint(
            args.preset, L, seed=args.seed, max_shard_mb=args.shard_mb, rebuild=args.rebuild
        )
        side = json.loads((p / "planted_alpha.json").read_text())
        how = "built" if built else "cached"
        print(
            f"checkpoint {p.relative_to(ROOT)} ({how}; build took {side['build_seconds']} s, "
            f"one thread): {side['num_shards']} shards, "
            f"{side['total_size'] / 2**30:.2f} GiB",
            flush=True,
        )
        paths.append((L, p))
    if args.build_only:
        return 0
    peer = not args.no_peer and (args.preset != "7b-width" or args.peer)
    results = []
    for _, p in paths:
        results.append(bench_checkpoint(p, args, peer=peer, tag=p.name))
    if len(results) >= 2:
        rss = [r["summary"]["cli_j1_rss"] for r in results]
        print(
            "\nhtrmt peak RSS (CLI) against depth: "
            + ", ".join(f"{r['tag']}: {x:.0f} MB" for r, x in zip(results, rss, strict=True))
            + f"; spread {(max(rss) / min(rss) - 1):.1%}"
        )
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"date": date, "machine": _machine(), "threads": THREADS_LINE, "runs": results},
                indent=1,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
