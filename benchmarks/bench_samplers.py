"""Student-t entries and pruning masks against their raw baselines, on the same sizes.

- ``student_t``: ``htrmt.ensembles.student_t`` (Bailey's polar method) against
  ``jax.random.t`` (normal over the root of a gamma variate), same shape and dtype; both
  compiled and warm.
- ``pareto`` and ``levy_stable`` in float32: the tail-resolved draws (two 32-bit words per
  value) against the single-word ``jax.random.exponential``/``uniform`` form they replaced
  (whose largest values are cut off at 2^-23), same shape; both compiled and warm.
- ``prune``: ``htrmt.pruning.prune`` (magnitude and Wanda scores) on all-MiniLM-L6-v2-sized
  dense layers (6 × 384×384, 384×1536, 1536×384) against NumPy's stable argsort doing the same
  masks; warm, and the first call (compilation) reported separately.

One BLAS/OpenMP/XLA thread on both sides.

Usage:
    python benchmarks/bench_samplers.py [--repeats 5]
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time  # noqa: E402


def bench_student_t(repeats: int) -> None:
    import htrmt as ht

    raw = jax.jit(lambda k, n: jax.random.t(k, 3.0, (n,), jnp.float32), static_argnums=1)
    print("| entries | jax.random.t | htrmt.ensembles.student_t | ratio |")
    print("|---|---|---|---|")
    for N, M, B in ((1000, 500, 1), (200, 200, 150)):
        n = N * M * B
        key = jax.random.key(0)
        t_raw = median_time(lambda: raw(key, n), repeats, warm=True)
        t_ht = median_time(
            lambda: ht.ensembles.student_t(key, (B, N, M), df=3.0, dtype=jnp.float32),
            repeats,
            warm=True,
        )
        print(f"| {B}×{N}×{M} | {t_raw:.3f} s | {t_ht:.3f} s | {t_raw / t_ht:.1f}× faster |")


def bench_tails(repeats: int) -> None:
    import htrmt as ht

    @jax.jit
    def pareto_single_word(k):
        km, ks = jax.random.split(k)
        e = jax.random.exponential(km, (n,), jnp.float32) / 2.5
        s = jnp.where(jax.random.bernoulli(ks, 0.5, (n,)), 1.0, -1.0).astype(jnp.float32)
        return s * jnp.exp(e)

    @jax.jit
    def stable_single_word(k):
        kv, ke = jax.random.split(k)
        hp = jnp.float32(jnp.pi / 2)
        v = jax.random.uniform(kv, (n,), jnp.float32, minval=-hp, maxval=hp)
        e = jax.random.exponential(ke, (n,), jnp.float32)
        a = jnp.float32(1.5)
        return jnp.sin(a * v) / jnp.cos(v) ** (1 / a) * (jnp.cos((1 - a) * v) / e) ** ((1 - a) / a)

    n = 150 * 200 * 200
    key = jax.random.key(0)
    print("\n| float32, 6M entries | single-word draws | tail-resolved (htrmt) | ratio |")
    print("|---|---|---|---|")
    for name, raw, new in (
        (
            "pareto µ = 2.5",
            pareto_single_word,
            lambda: ht.ensembles.pareto(key, (150, 200, 200), mu=2.5, dtype=jnp.float32),
        ),
        (
            "levy_stable α = 1.5",
            stable_single_word,
            lambda: ht.ensembles.levy_stable(
                key, (150, 200, 200), alpha_stable=1.5, dtype=jnp.float32
            ),
        ),
    ):
        t_raw = median_time(lambda raw=raw: raw(key), repeats, warm=True)
        t_new = median_time(new, repeats, warm=True)
        print(f"| {name} | {t_raw:.3f} s | {t_new:.3f} s | {t_new / t_raw:.2f}× the time |")


def _numpy_masks(mats, r, norms=None):
    out = {}
    for name, w in mats.items():
        if norms is None:
            k = int(w.size * r)
            keep = np.ones(w.size, bool)
            keep[np.argsort(np.abs(w).reshape(-1), kind="stable")[:k]] = False
            out[name] = keep.reshape(w.shape)
        else:
            s = np.abs(w) * norms[name][None, :]
            k = int(w.shape[1] * r)
            order = np.argsort(s, axis=1, kind="stable")[:, :k]
            keep = np.ones(w.shape, bool)
            np.put_along_axis(keep, order, False, axis=1)
            out[name] = keep
    return out


def bench_prune(repeats: int) -> None:
    import htrmt as ht

    rng = np.random.default_rng(0)
    shapes = [(384, 384)] * 4 + [(1536, 384), (384, 1536)]
    mats = {
        f"encoder.layer.{b}.{i}.weight": rng.standard_normal(s).astype(np.float32)
        for b in range(6)
        for i, s in enumerate(shapes)
    }
    norms = {n: np.abs(rng.standard_normal(w.shape[1])).astype(np.float32) for n, w in mats.items()}
    ratios = {n: 0.5 for n in mats}
    print("\n| score | NumPy argsort | htrmt first call | htrmt warm | ratio warm |")
    print("|---|---|---|---|---|")
    for score, acts in (("magnitude", None), ("wanda", norms)):

        def run(ratios=ratios, score=score, acts=acts):
            return ht.pruning.prune(mats, ratios, score=score, activations=acts).masks

        t0 = time.perf_counter()
        first = jax.block_until_ready(run())
        t_first = time.perf_counter() - t0
        t_ht = median_time(run, repeats)
        t_np = median_time(
            lambda score=score: _numpy_masks(mats, 0.5, norms if score == "wanda" else None),
            repeats,
        )
        ref = _numpy_masks(mats, 0.5, norms if score == "wanda" else None)
        same = all(np.array_equal(np.asarray(first[n]), ref[n]) for n in mats)
        print(
            f"| {score} | {t_np:.3f} s | {t_first:.2f} s | {t_ht:.3f} s | "
            f"{t_np / t_ht:.2f}× numpy (masks identical: {same}) |"
        )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    cpu = platform.processor() or platform.machine()
    print(f"{cpu}, {os.cpu_count()} cores, jax {jax.__version__}")
    bench_student_t(args.repeats)
    bench_tails(args.repeats)
    bench_prune(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
