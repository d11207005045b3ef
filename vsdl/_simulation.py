"""Monte Carlo Gibbs learning of finite-N teacher–student perceptrons.

The student samples ``P(w) ∝ exp(−E(w)/τ)`` where ``E(w)`` is its number of training errors on
``P = round(αN)`` examples ``ξ ~ N(0, I_N)`` labelled by a random teacher ``t``:

- Ising weights ``w_i = ±1``: single-spin-flip Metropolis, sites in sequential order (one sweep
  is N proposals);
- spherical weights ``|w|² = N``: Metropolis with rotations by a uniform angle in the plane of two
  random coordinates (symmetric, norm-preserving, ergodic on the sphere; a sweep is N proposals),
  the angle's range tuned during burn-in toward 40 % acceptance and frozen afterwards.

Local fields ``h = ξ·w`` are updated in O(P) per proposal and recomputed from scratch after
every sweep. The load enters through a mask on a static ``p_max`` examples, so one compilation
serves every ``α`` (and ``τ``) of a diagram. Each chain starts from a random student (a hot
start): near a first-order transition it stays in the poor-generalization state until that state
stops being metastable, like the dynamics the theory's spinodals describe.

The generalization error of a student is exact for Gaussian inputs: ``ε = arccos(R)/π`` with
``R = w·t/(|w||t|)``. Each chain records ``R`` after every sweep; the time average over the
measurement sweeps is its estimate, and the integrated autocorrelation time of that trace
(Sokal's automatic window) says how many independent samples it holds.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from htrmt._checks import check_int, check_key, float_dtype


def _mm(a, b):
    """``a @ b`` at full precision (a GPU's default rounds float32 products to TF32)."""
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


__all__ = [
    "MonteCarloResult",
    "gibbs_learning",
    "trial",
    "summarize",
    "integrated_autocorrelation_time",
    "MIN_N",
]

MIN_N = 8
_TARGET_ACCEPT = 0.4


def _check_common(model: Any, n: Any, sweeps: Any, burn_in: Any) -> tuple[int, int, int]:
    if model not in ("ising", "spherical"):
        raise ValueError(f"model must be one of ['ising', 'spherical'], got model={model!r}")
    n = check_int(n, "n", ge=1)
    if n < MIN_N:
        raise ValueError(
            f"n (the number of weights) must be >= {MIN_N} for a meaningful simulation, got n={n}"
        )
    sweeps = check_int(sweeps, "sweeps", ge=2)
    if burn_in is None:
        burn_in = sweeps // 2
    burn_in = check_int(burn_in, "burn_in", ge=0)
    if burn_in >= sweeps - 1:
        raise ValueError(
            f"burn_in must be < sweeps - 1 to leave measurement sweeps, got burn_in={burn_in}, "
            f"sweeps={sweeps}"
        )
    return n, sweeps, burn_in


def _chain(key, alpha, tau, *, n: int, p_max: int, model: str, sweeps: int, burn_in: int, dtype):
    """One chain: returns the per-sweep trace of R and training error, and acceptance counts."""
    k_t, k_x, k_w, k_mc = jax.random.split(key, 4)
    alpha = jnp.asarray(alpha, dtype)
    tau = jnp.asarray(tau, dtype)
    num_p = jnp.clip(jnp.round(alpha * n), 1, p_max)
    mask = (jnp.arange(p_max, dtype=dtype) < num_p).astype(dtype)
    X = jax.random.normal(k_x, (n, p_max), dtype)  # column i of the inputs: X[i] has shape (P,)
    if model == "ising":
        t = jnp.where(jax.random.bernoulli(k_t, 0.5, (n,)), 1.0, -1.0).astype(dtype)
        w0 = jnp.where(jax.random.bernoulli(k_w, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    else:
        t = jax.random.normal(k_t, (n,), dtype)
        t = t * jnp.sqrt(jnp.asarray(n, dtype)) / jnp.linalg.norm(t)
        w0 = jax.random.normal(k_w, (n,), dtype)
        w0 = w0 * jnp.sqrt(jnp.asarray(n, dtype)) / jnp.linalg.norm(w0)
    y = jnp.sign(_mm(t, X))
    y = jnp.where(y == 0, 1.0, y).astype(dtype)

    def errors(h):
        return jnp.sum(mask * (y * h <= 0).astype(dtype))

    def accept(dE, u):
        safe = jnp.where(tau > 0, tau, jnp.asarray(1.0, dtype))
        p = jnp.where(tau > 0, jnp.exp(-jnp.maximum(dE, 0) / safe), (dE <= 0).astype(dtype))
        return (dE <= 0) | (u < p)

    def ising_sweep(carry, key):
        w, h, delta = carry
        u = jax.random.uniform(key, (n,), dtype)

        def move(i, c):
            w, h, E, acc = c
            hn = h - 2.0 * w[i] * X[i]
            En = errors(hn)
            ok = accept(En - E, u[i])
            return (
                w.at[i].set(jnp.where(ok, -w[i], w[i])),
                jnp.where(ok, hn, h),
                jnp.where(ok, En, E),
                acc + ok.astype(dtype),
            )

        w, h, E, acc = jax.lax.fori_loop(0, n, move, (w, h, errors(h), jnp.zeros((), dtype)))
        return (w, _mm(w, X), delta), acc / n

    def spherical_sweep(carry, key):
        w, h, delta = carry
        r = jax.random.uniform(key, (4, n), dtype)  # one draw per sweep: i, j, angle, accept
        ii = jnp.minimum((r[0] * n).astype(jnp.int32), n - 1)
        jj = (ii + 1 + jnp.minimum((r[1] * (n - 1)).astype(jnp.int32), n - 2)) % n
        th = 2.0 * r[2] - 1.0
        u = r[3]

        def move(m, c):
            w, h, E, acc = c
            i, j = ii[m], jj[m]
            ang = delta * th[m]
            cs, sn = jnp.cos(ang), jnp.sin(ang)
            dwi = (cs - 1.0) * w[i] - sn * w[j]
            dwj = sn * w[i] + (cs - 1.0) * w[j]
            hn = h + dwi * X[i] + dwj * X[j]
            En = errors(hn)
            ok = accept(En - E, u[m])
            w = jnp.where(ok, w.at[i].add(dwi).at[j].add(dwj), w)
            return w, jnp.where(ok, hn, h), jnp.where(ok, En, E), acc + ok.astype(dtype)

        w, h, E, acc = jax.lax.fori_loop(0, n, move, (w, h, errors(h), jnp.zeros((), dtype)))
        w = w * jnp.sqrt(jnp.asarray(n, dtype)) / jnp.linalg.norm(w)
        return (w, _mm(w, X), delta), acc / n

    sweep = ising_sweep if model == "ising" else spherical_sweep
    nt = jnp.linalg.norm(t)

    def step(carry, xs):
        key, s = xs
        carry, rate = sweep(carry, key)
        w, h, delta = carry
        # tune the rotation range during burn-in only (fixed afterwards: detailed balance holds)
        tuned = jnp.clip(delta * jnp.exp(rate - _TARGET_ACCEPT), 1e-3, math.pi)
        delta = jnp.where(s < burn_in, tuned, delta)
        R = _mm(w, t) / (jnp.linalg.norm(w) * nt)
        return (w, h, delta), (R, errors(h) / num_p, rate)

    keys = jax.random.split(k_mc, sweeps)
    init = (w0, _mm(w0, X), jnp.asarray(0.5, dtype))
    _, (R, train, rate) = jax.lax.scan(step, init, (keys, jnp.arange(sweeps)))
    return {"R": R, "train_error": train, "acceptance": rate}


def trial(
    key,
    *,
    alpha,
    tau,
    n: int,
    p_max: int,
    model: str = "ising",
    sweeps: int = 1000,
    burn_in: int | None = None,
) -> dict[str, Array]:
    """One Monte Carlo chain at (α, τ): the trial function for :func:`htrmt.sweep.run`.

    Args:
        key: a ``jax.random`` key (teacher, inputs, initial student and the chain).
        alpha: load (traced). ``round(α n)`` examples are used, at most ``p_max``.
        tau: temperature (traced), >= 0.
        n: number of weights (static).
        p_max: static number of stored examples (>= ``round(α n)`` for every α of a sweep).
        model: ``'ising'`` or ``'spherical'`` (static).
        sweeps: total sweeps (N proposals each), burn-in included (static).
        burn_in: sweeps discarded before measuring (static; default ``sweeps // 2``).

    Returns:
        A dict of per-sweep traces ``R``, ``train_error`` and ``acceptance`` (shape ``(sweeps,)``).
    """
    n, sweeps, burn_in = _check_common(model, n, sweeps, burn_in)
    p_max = check_int(p_max, "p_max", ge=1)
    dtype = jnp.result_type(float)
    if hasattr(alpha, "dtype") and jnp.issubdtype(alpha.dtype, jnp.floating):
        dtype = alpha.dtype
    return _chain(
        key, alpha, tau, n=n, p_max=p_max, model=model, sweeps=sweeps, burn_in=burn_in, dtype=dtype
    )


def integrated_autocorrelation_time(x: Any, c: float = 5.0) -> np.ndarray:
    """Integrated autocorrelation time of the last axis (Sokal's automatic window ``M ≥ c τ``).

    Args:
        x: time series, shape ``(..., T)``.
        c: window constant.

    Returns:
        ``τ_int`` in units of the sampling interval (1 for independent samples), shape ``(...)``;
        ``inf`` for a constant series that never moved (no evidence of mixing).
    """
    x = np.asarray(x, np.float64)
    T = x.shape[-1]
    xc = x - x.mean(-1, keepdims=True)
    f = np.fft.rfft(xc, n=2 * T, axis=-1)
    acf = np.fft.irfft(f * np.conj(f), axis=-1)[..., :T]
    var = acf[..., :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(var > 0, acf / np.where(var > 0, var, 1.0), 0.0)
    taus = 2.0 * np.cumsum(rho, -1) - 1.0
    m = np.arange(T)
    ok = m >= c * taus
    win = np.where(ok.any(-1), ok.argmax(-1), T - 1)
    tau = np.take_along_axis(taus, win[..., None], -1)[..., 0]
    tau = np.maximum(tau, 1.0)
    return np.where(var[..., 0] > 0, tau, np.inf)


@dataclasses.dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo estimates at each (α, τ), with the diagnostics that say whether to trust them.

    Attributes:
        alpha, tau: the points, shape ``S``.
        epsilon: generalization error (mean over replicas of each chain's time average), ``S``.
        epsilon_err: its standard error across the independent replicas, ``S``.
        epsilon_replicas: per-replica time averages, ``S + (replicas,)``.
        overlap: mean teacher–student overlap ``R``, ``S``.
        train_error: mean training-error fraction, ``S``.
        acceptance: mean Metropolis acceptance rate over the measurement sweeps, ``S``.
        tau_int: integrated autocorrelation time of each chain's ε trace, in sweeps, averaged
            over the replicas (``inf`` if one replica never moved), ``S``.
        drift: largest ``|mean(first half) − mean(second half)|`` of the measurement window over
            the replicas, in units of its standard error (accounting for ``tau_int``), ``S``.
        equilibrated: ``n_measure >= 20 tau_int`` and ``drift <= 4.5`` at every replica, ``S``.
            A replica whose overlap never changed counts as frozen (``tau_int = inf``, not
            equilibrated) unless it sits exactly at ``R = 1``, the zero-error ground state.
        n: number of weights; n_measure: measurement sweeps per chain; model: the weights.
    """

    alpha: np.ndarray
    tau: np.ndarray
    epsilon: np.ndarray
    epsilon_err: np.ndarray
    epsilon_replicas: np.ndarray
    overlap: np.ndarray
    train_error: np.ndarray
    acceptance: np.ndarray
    tau_int: np.ndarray
    drift: np.ndarray
    equilibrated: np.ndarray
    n: int
    n_measure: int
    model: str

    def check(self) -> MonteCarloResult:
        """Return ``self`` if every point equilibrated, else raise ``RuntimeError`` naming them."""
        bad = ~np.asarray(self.equilibrated)
        if bad.any():
            idx = np.argwhere(bad)
            pts = [(float(self.alpha[tuple(i)]), float(self.tau[tuple(i)])) for i in idx[:5]]
            raise RuntimeError(
                f"{int(bad.sum())} of {bad.size} (alpha, tau) points did not equilibrate "
                f"(e.g. {pts}; tau_int={self.tau_int[bad][:5]}, drift={self.drift[bad][:5]}): "
                "run more sweeps"
            )
        return self


def summarize(
    traces: dict[str, Any], *, alpha: Any, tau: Any, burn_in: int, n: int, model: str
) -> MonteCarloResult:
    """Reduce per-replica traces (``(..., replicas, sweeps)``) to a :class:`MonteCarloResult`."""
    R = np.asarray(traces["R"], np.float64)[..., burn_in:]
    tr = np.asarray(traces["train_error"], np.float64)[..., burn_in:]
    acc = np.asarray(traces["acceptance"], np.float64)[..., burn_in:]
    T = R.shape[-1]
    eps_t = np.arccos(np.clip(R, -1.0, 1.0)) / np.pi
    eps_rep = eps_t.mean(-1)
    reps = eps_rep.shape[-1]
    tau_int = integrated_autocorrelation_time(eps_t)
    # a replica frozen exactly in the perfect state (R = 1: the teacher, zero training errors)
    # is at the ground state; its constant trace is exact, not a failure to mix
    perfect = np.all(R >= 1.0 - 1e-12, axis=-1)
    tau_int = np.where(perfect, 1.0, tau_int)
    half = T // 2
    m1, m2 = eps_t[..., :half].mean(-1), eps_t[..., half : 2 * half].mean(-1)
    sd = eps_t.std(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = sd * np.sqrt(2.0 * np.where(np.isfinite(tau_int), tau_int, T) / max(half, 1))
        drift = np.where(se > 0, np.abs(m1 - m2) / np.where(se > 0, se, 1.0), 0.0)
    # replicas run the same dynamics: their mean τ_int is the estimate (a single replica's is
    # noisy); a frozen replica (τ_int = inf) makes the point fail the check
    tau_max = tau_int.mean(-1)
    drift_max = drift.max(-1)
    equil = (T >= 20.0 * tau_max) & (drift_max <= 4.5)
    err = (
        eps_rep.std(-1, ddof=1) / math.sqrt(reps)
        if reps > 1
        else np.full(eps_rep.shape[:-1], np.inf)
    )
    a, t = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(tau, np.float64))
    return MonteCarloResult(
        alpha=a,
        tau=t,
        epsilon=eps_rep.mean(-1),
        epsilon_err=err,
        epsilon_replicas=eps_rep,
        overlap=R.mean((-1, -2)),
        train_error=tr.mean((-1, -2)),
        acceptance=acc.mean((-1, -2)),
        tau_int=tau_max,
        drift=drift_max,
        equilibrated=equil,
        n=n,
        n_measure=T,
        model=model,
    )


@functools.partial(
    jax.jit, static_argnames=("n", "p_max", "model", "sweeps", "burn_in", "replicas", "dtype")
)
def _batched(key, alpha, tau, *, n, p_max, model, sweeps, burn_in, replicas, dtype):
    npts = alpha.shape[0]
    keys = jax.random.split(key, npts * replicas)
    one = functools.partial(
        _chain, n=n, p_max=p_max, model=model, sweeps=sweeps, burn_in=burn_in, dtype=dtype
    )
    out = jax.vmap(one)(keys, jnp.repeat(alpha, replicas), jnp.repeat(tau, replicas))
    return jax.tree_util.tree_map(lambda x: x.reshape((npts, replicas) + x.shape[1:]), out)


def gibbs_learning(
    key: Any,
    alpha: Any,
    tau: Any,
    *,
    n: int,
    model: str = "ising",
    replicas: int = 8,
    sweeps: int = 1000,
    burn_in: int | None = None,
    dtype: Any = None,
) -> MonteCarloResult:
    """Monte Carlo Gibbs learning at every (α, τ), replicas and points vmapped in one program.

    Each replica draws its own teacher, training set and initial student (a hot start) from
    ``key``, so replicas are independent samples of the disorder as well as of the chain.

    Args:
        key: a ``jax.random`` key.
        alpha: loads (> 0), any shape, broadcast against ``tau``.
        tau: temperatures (>= 0; at 0 only moves that do not add errors are accepted).
        n: number of weights (>= 8).
        model: ``'ising'`` or ``'spherical'``.
        replicas: independent chains per point (>= 2, for an error bar).
        sweeps: sweeps per chain (N proposals each), burn-in included.
        burn_in: sweeps discarded (default ``sweeps // 2``).
        dtype: float dtype of the chains (default: float64 iff ``jax_enable_x64``).

    Returns:
        A :class:`MonteCarloResult`; check ``equilibrated`` (or call ``.check()``) before using
        the numbers.

    Raises:
        ValueError: alpha <= 0, tau < 0, n < 8, replicas < 2, burn_in >= sweeps - 1, unknown model.

    Example:
        >>> import jax
        >>> res = gibbs_learning(jax.random.key(0), [1.0, 2.0], 0.5, n=50, model="ising",
        ...                      replicas=4, sweeps=200)
        >>> res.epsilon.shape
        (2,)

    References:
        Seung, Sompolinsky & Tishby, Phys. Rev. A 45, 6056 (1992) (Gibbs learning and its
        Monte Carlo simulation).
    """
    key = check_key(key)
    n, sweeps, burn_in = _check_common(model, n, sweeps, burn_in)
    replicas = check_int(replicas, "replicas", ge=2)
    dt = float_dtype(dtype)
    a = np.asarray(alpha, np.float64)
    t = np.asarray(tau, np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(t))):
        raise ValueError(f"alpha and tau must be finite, got alpha={alpha!r}, tau={tau!r}")
    if np.any(a <= 0):
        raise ValueError(f"alpha (the load P/N) must be > 0, got alpha={alpha!r}")
    if np.any(t < 0):
        raise ValueError(f"tau (the temperature) must be >= 0, got tau={tau!r}")
    a, t = np.broadcast_arrays(a, t)
    shape = a.shape
    p_max = max(int(np.max(np.round(a * n))), 1)
    out = _batched(
        key,
        jnp.asarray(a.ravel(), dt),
        jnp.asarray(t.ravel(), dt),
        n=n,
        p_max=p_max,
        model=model,
        sweeps=sweeps,
        burn_in=burn_in,
        replicas=replicas,
        dtype=dt,
    )
    traces = {k: np.asarray(v).reshape(shape + v.shape[1:]) for k, v in out.items()}
    return summarize(traces, alpha=a, tau=t, burn_in=burn_in, n=n, model=model)
