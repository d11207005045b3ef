"""The ESD estimator of the HT-SR methods that act on a network ("PL_Alpha_Hill").

TempBalance, Model Balancing, AlphaDecay, AlphaPruning and FARMS share one estimator: the
eigenvalues λ = σ² of the raw weight matrix (no 1/N), conv kernels cut into their ``kh·kw``
slices scaled by ``√conv_norm`` and pooled, the eigenvalues at or below ``evals_thresh``
dropped, and a Hill estimate of the tail exponent with one of three rules for xmin. Everything
here is JAX, traceable, with static sizes: the same code runs in :func:`htrmt.analyze`, in a
training step and in a pruning script.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._status import Status, first_failure

__all__ = [
    "ESTIMATORS",
    "FIT_MODES",
    "Estimator",
    "HillFit",
    "HILL_STATUS",
    "Windows",
    "get_estimator",
    "hill_fit",
    "layer_esd",
    "window_starts",
]

#: the xmin rules of the published code (their names there: ``xmin_mid``, ``xmin_peak``, none)
FIT_MODES = ("median", "fix-finger", "goodness-of-fit")
_MODE_ALIASES = {"xmin_mid": "median", "xmin_peak": "fix-finger", "gof": "goodness-of-fit"}

#: ``HillFit.status`` codes
HILL_STATUS = {int(c): c.label for c in (Status.OK, Status.NO_CANDIDATE, Status.NONFINITE)}


@dataclasses.dataclass(frozen=True)
class Windows:
    """FARMS sampling: fixed-shape windows of the matrix whose pooled ESD is fitted.

    Windows have ``rows × ⌊rows·aspect_ratio⌋`` entries of the ``(out, in)`` matrix (each conv
    slice separately), at ``num_starts`` evenly spaced start positions per dimension
    (``⌊linspace(0, size − window, num_starts)⌋``, repeated positions counted once). A matrix
    smaller than the window in a dimension gets the whole dimension, at one position.

    Attributes:
        rows: window height ``r`` (100 for vision models, 2000 for LLMs in the paper).
        aspect_ratio: ``Q``, the window width is ``⌊r·Q⌋`` (1 in the paper).
        num_starts: start positions per dimension (9 or 15 in the paper).
    """

    rows: int = 100
    aspect_ratio: float = 1.0
    num_starts: int = 9

    def __post_init__(self):
        if isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 2:
            raise ValueError(f"rows must be an int >= 2, got rows={self.rows!r}")
        q = self.aspect_ratio
        if not isinstance(q, int | float) or not math.isfinite(q) or q <= 0:
            raise ValueError(f"aspect_ratio must be a finite number > 0, got aspect_ratio={q!r}")
        if int(self.rows * q) < 1:
            raise ValueError(
                f"rows * aspect_ratio must be >= 1, got rows={self.rows}, aspect_ratio={q}"
            )
        k = self.num_starts
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"num_starts must be an int >= 1, got num_starts={k!r}")

    @property
    def cols(self) -> int:
        return int(self.rows * self.aspect_ratio)


def window_starts(size: int, window: int, num_starts: int) -> tuple[int, tuple[int, ...]]:
    """``(clamped window, start positions)`` along one dimension of length ``size``."""
    w = min(window, size)
    starts = np.floor(np.linspace(0, size - w, num_starts)).astype(int)
    return w, tuple(int(s) for s in np.unique(starts))


@dataclasses.dataclass(frozen=True)
class Estimator:
    """The conventions of one published ESD estimator (hashable: a static argument under jit).

    Attributes:
        fit: xmin rule, one of :data:`FIT_MODES` (``xmin_mid`` / ``xmin_peak`` accepted):
            ``"median"``: xmin = λ[⌊count / xmin_pos⌋]; ``"goodness-of-fit"``: every λ but the
            largest is a candidate, the one with the smallest KS distance wins;
            ``"fix-finger"``: the candidates of ``"goodness-of-fit"`` between
            ``log10(0.95·x₂)`` and ``1.5·x₂``, with ``x₂`` the left edge of the fullest of
            ``bins`` histogram bins of log10 λ. The lower bound compares λ with a logarithm,
            exactly as the published code does.
        xmin_pos: divisor of the median rule (2; 1.5 in Model Balancing).
        bins: histogram bins of the fix-finger rule (100).
        conv_norm: conv slices are scaled by ``√conv_norm`` (λ by ``conv_norm``) (0.5).
        eigs_thresh: layers with fewer eigenvalues (the static count before the filter) are
            left out of the assignment by the methods (50; 5 in FARMS).
        filter_zeros: drop eigenvalues ``<= evals_thresh`` before the fit (all kept if none
            survives) (True).
        evals_thresh: that threshold (1e-5).
        spectrum: ``"gram"`` (``eigvalsh`` of the smaller Gram matrix) or ``"svd"``
            (squared singular values, as the published code).
        windows: FARMS sampling (:class:`Windows`), or None for the whole matrix.
    """

    fit: str = "median"
    xmin_pos: float = 2.0
    bins: int = 100
    conv_norm: float = 0.5
    eigs_thresh: int = 50
    filter_zeros: bool = True
    evals_thresh: float = 1e-5
    spectrum: str = "gram"
    windows: Windows | None = None

    def __post_init__(self):
        fit = _MODE_ALIASES.get(self.fit, self.fit)
        if fit not in FIT_MODES:
            raise ValueError(f"fit must be one of {list(FIT_MODES)}, got fit={self.fit!r}")
        object.__setattr__(self, "fit", fit)
        p = self.xmin_pos
        if isinstance(p, bool) or not isinstance(p, int | float) or not p >= 1:
            raise ValueError(f"xmin_pos must be a number >= 1, got xmin_pos={p!r}")
        if isinstance(self.bins, bool) or not isinstance(self.bins, int) or self.bins < 1:
            raise ValueError(f"bins must be an int >= 1, got bins={self.bins!r}")
        c = self.conv_norm
        if not isinstance(c, int | float) or not math.isfinite(c) or c <= 0:
            raise ValueError(f"conv_norm must be a finite number > 0, got conv_norm={c!r}")
        t = self.eigs_thresh
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"eigs_thresh must be an int >= 0, got eigs_thresh={t!r}")
        e = self.evals_thresh
        if not isinstance(e, int | float) or not math.isfinite(e) or e < 0:
            raise ValueError(f"evals_thresh must be a finite number >= 0, got evals_thresh={e!r}")
        if self.spectrum not in ("gram", "svd"):
            raise ValueError(f"spectrum must be 'gram' or 'svd', got spectrum={self.spectrum!r}")
        if self.windows is not None and not isinstance(self.windows, Windows):
            raise TypeError(f"windows must be a Windows or None, got windows={self.windows!r}")

    def replace(self, **changes: Any) -> Estimator:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


#: the published estimators by name
ESTIMATORS: dict[str, Estimator] = {
    "tempbalance": Estimator(fit="median", xmin_pos=2.0),
    "model-balancing": Estimator(fit="median", xmin_pos=1.5),
    "alphadecay": Estimator(fit="median", xmin_pos=2.0),
    "alphapruning": Estimator(fit="fix-finger"),
    "goodness-of-fit": Estimator(fit="goodness-of-fit"),
    "farms": Estimator(fit="fix-finger", eigs_thresh=5, windows=Windows(100, 1.0, 9)),
}


def get_estimator(estimator: str | Estimator, *, name: str = "estimator") -> Estimator:
    """An :class:`Estimator` from itself or from its name in :data:`ESTIMATORS`."""
    if isinstance(estimator, Estimator):
        return estimator
    if isinstance(estimator, str) and estimator in ESTIMATORS:
        return ESTIMATORS[estimator]
    raise ValueError(
        f"{name} must be an Estimator or one of {sorted(ESTIMATORS)}, got {name}={estimator!r}"
    )


class HillFit(eqx.Module):
    """Hill fit of one ESD tail (fields are arrays; batch axes lead under vmap).

    Attributes:
        alpha: ``1 + n / (Σ_{j≥i} ln λ_j − n ln λ_i)``, n the number of values from xmin up.
        D: KS distance ``max_{m<n} |1 − (λ_{i+m}/λ_i)^{1−α} − m/n|``.
        xmin: λ_i.
        num_tail: n.
        num_evals: eigenvalues kept by the filter.
        lambda_max: largest eigenvalue (the squared spectral norm).
        frobenius: Σλ over all eigenvalues (the squared Frobenius norm).
        alpha_hat: α·log10 λ_max.
        stable_rank: Σλ / λ_max.
        status: a :class:`htrmt.Status` code (``OK``, ``NO_CANDIDATE``, ``NONFINITE``;
            labels in :data:`HILL_STATUS`).
    """

    alpha: Float[Array, "..."]
    D: Float[Array, "..."]
    xmin: Float[Array, "..."]
    num_tail: Int[Array, "..."]
    num_evals: Int[Array, "..."]
    lambda_max: Float[Array, "..."]
    frobenius: Float[Array, "..."]
    alpha_hat: Float[Array, "..."]
    stable_rank: Float[Array, "..."]
    status: Int[Array, "..."]

    @property
    def ok(self) -> Array:
        return self.status == int(Status.OK)

    @property
    def message(self) -> str:
        """The first failure of a concrete (batched) fit, or ``"ok"``."""
        return first_failure(self.status).message


def _hill_at(lam, loglam, idx, i):
    """α and D with xmin at index ``i`` of the ascending ``lam`` (entries below i unused)."""
    L = lam.shape[-1]
    dt = lam.dtype
    n = (L - i).astype(dt)
    tail = idx >= i
    s = jnp.sum(jnp.where(tail, loglam, jnp.zeros((), dt)))
    alpha = 1 + n / (s - n * loglam[i])
    seq = (idx - i).astype(dt)
    # (λ/xmin)^(1-α) through the logarithms already taken: one exp per entry
    logratio = jnp.where(tail, loglam - loglam[i], jnp.zeros((), dt))
    dev = jnp.abs(1 - jnp.exp((1 - alpha) * logratio) - seq / n)
    D = jnp.max(jnp.where(tail, dev, jnp.zeros((), dt)))
    return alpha, D


def _hill_over_candidates(lam, loglam, idx, cand, batch):
    """α and D at every position from the first to the last candidate (zeros and ones
    elsewhere), ``batch`` positions at a time: the fix-finger window holds a small part of a
    large spectrum, and the cost is ``batch × L`` per step instead of ``L²`` in all."""
    L = lam.shape[-1]
    dt = lam.dtype
    any_cand = jnp.any(cand)
    first = jnp.argmax(cand)
    last = L - 1 - jnp.argmax(cand[::-1])
    steps = jnp.where(any_cand, (last - first) // batch + 1, 0)
    offsets = jnp.arange(batch, dtype=idx.dtype)

    def body(carry):
        k, alphas, Ds = carry
        pos = first + k * batch + offsets
        a, d = jax.vmap(lambda i: _hill_at(lam, loglam, idx, i))(jnp.minimum(pos, L - 1))
        alphas = alphas.at[pos].set(a, mode="drop")
        Ds = Ds.at[pos].set(d, mode="drop")
        return k + 1, alphas, Ds

    init = (jnp.zeros((), idx.dtype), jnp.zeros(L, dt), jnp.ones(L, dt))
    _, alphas, Ds = jax.lax.while_loop(lambda c: c[0] < steps, body, init)
    return alphas, Ds


def hill_fit(
    evals: Float[Array, " L"],
    estimator: str | Estimator = "tempbalance",
    *,
    batch_size: int = 256,
) -> HillFit:
    """Fit the ESD tail the way the published HT-SR code does (traceable, static size).

    Args:
        evals: eigenvalues of one layer (any order; one spectrum: ``vmap`` for a batch).
        estimator: an :class:`Estimator` or a name in :data:`ESTIMATORS`.
        batch_size: xmin candidates evaluated at once by the search rules (memory
            ``batch_size × L``).

    Returns:
        A :class:`HillFit`. ``status`` is ``"no-candidate"`` when the rule has no xmin (fewer
        than two eigenvalues kept, or no candidate in the fix-finger window; α = 0, D = 1 then,
        as the published code leaves them) and ``"non-finite"`` when α or D is not finite.

    Example:
        >>> import jax, jax.numpy as jnp, htrmt as ht
        >>> lam = jnp.sort(jax.random.pareto(jax.random.key(0), 2.0, (500,)))  # density ~ λ^-3
        >>> fit = ht.act.hill_fit(lam, "tempbalance")
        >>> bool(fit.ok), round(float(fit.alpha), 1)
        (True, 3.2)

    References:
        Zhou et al. (2023), "Temperature Balancing, Layer-wise Weight Analysis, and Neural
        Network Training", NeurIPS (the ``net_esd_estimator`` of its code); Lu et al. (2024),
        "AlphaPruning", NeurIPS (``fix_fingers="xmin_peak"``).
    """
    est = get_estimator(estimator)
    lam = jnp.asarray(evals)
    if lam.ndim != 1:
        raise ValueError(f"evals must be 1-D (vmap for a batch), got shape {lam.shape}")
    if not jnp.issubdtype(lam.dtype, jnp.floating):
        lam = lam.astype(jnp.result_type(float))
    L = lam.shape[0]
    if L < 1:
        raise ValueError("evals must hold at least one eigenvalue")
    dt = lam.dtype
    lam = jnp.sort(lam)
    idx = jnp.arange(L)
    lambda_max = lam[-1]
    frob = jnp.sum(lam)
    if est.filter_zeros:
        keep = lam > jnp.asarray(est.evals_thresh, dt)
        c = jnp.sum(keep)
        c = jnp.where(c == 0, L, c)
    else:
        c = jnp.asarray(L)
    start = L - c  # ascending: the kept values are a suffix
    valid = idx >= start
    one = jnp.ones((), dt)
    lam_v = jnp.where(valid, lam, one)
    loglam = jnp.log(lam_v)
    if est.fit == "median":
        i = start + jnp.floor(c.astype(dt) / jnp.asarray(est.xmin_pos, dt)).astype(idx.dtype)
        i = jnp.minimum(i, L - 1)
        alpha, D = _hill_at(lam_v, loglam, idx, i)
        nocand = jnp.zeros((), bool)
    else:
        cand = valid & (idx < L - 1)
        if est.fit == "fix-finger":
            lg = jnp.log10(lam_v)
            lo = jnp.min(jnp.where(valid, lg, jnp.inf))
            hi = jnp.max(jnp.where(valid, lg, -jnp.inf))
            width = hi - lo
            b = est.bins
            pos = jnp.where(width > 0, (lg - lo) * b / jnp.where(width > 0, width, one), 0)
            binid = jnp.clip(jnp.floor(pos).astype(idx.dtype), 0, b - 1)
            counts = jnp.zeros(b, idx.dtype).at[binid].add(valid.astype(idx.dtype))
            ih = jnp.argmax(counts)
            edges = jnp.linspace(lo, hi, b + 1)
            xmin2 = 10 ** edges[ih]
            xmin_min = jnp.log10(0.95 * xmin2)  # as published: a log compared with λ below
            xmin_max = 1.5 * xmin2
            cand = cand & ~(lam_v < xmin_min) & ~(lam_v > xmin_max)

        alphas, Ds = _hill_over_candidates(lam_v, loglam, idx, cand, min(batch_size, L))
        alphas = jnp.where(cand, alphas, jnp.zeros((), dt))
        Ds = jnp.where(cand & (alphas > 1), Ds, one)
        # positions outside the published candidate array (filtered, the largest) never win
        Ds = jnp.where(valid & (idx < L - 1), Ds, jnp.inf)
        j = jnp.argmin(Ds)
        alpha, D = alphas[j], Ds[j]
        i = j
        nocand = ~jnp.any(cand) | (c < 2)
    num_tail = (L - i).astype(jnp.int32)
    xmin = lam_v[i]
    finite = jnp.isfinite(alpha) & jnp.isfinite(D)
    status = jnp.where(
        nocand, int(Status.NO_CANDIDATE), jnp.where(finite, int(Status.OK), int(Status.NONFINITE))
    ).astype(jnp.int32)
    return HillFit(
        alpha=alpha,
        D=D,
        xmin=xmin,
        num_tail=num_tail,
        num_evals=c.astype(jnp.int32),
        lambda_max=lambda_max,
        frobenius=frob,
        alpha_hat=alpha * jnp.log10(lambda_max),
        stable_rank=frob / lambda_max,
        status=status,
    )


def _window_stack(mats: Array, windows: Windows) -> Array:
    """``(S, out, in)`` slices → ``(S·windows, r, c)`` FARMS windows (static slicing)."""
    _, a, b = mats.shape
    rw, rs = window_starts(a, windows.rows, windows.num_starts)
    cw, cs = window_starts(b, windows.cols, windows.num_starts)
    parts = [mats[:, r : r + rw, s : s + cw] for r in rs for s in cs]
    return jnp.concatenate(parts, axis=0)


def layer_esd(
    matrices: Float[Array, "S out in"], estimator: str | Estimator = "tempbalance"
) -> Float[Array, " L"]:
    """The pooled ESD of one layer under an estimator's conventions (ascending).

    Args:
        matrices: ``(S, out, in)``: ``S = 1`` for a dense layer, ``S = kh·kw`` conv slices (a
            2-D array is one dense matrix).
        estimator: an :class:`Estimator` or a name in :data:`ESTIMATORS`.

    Returns:
        λ = σ² of every slice (times ``conv_norm`` when ``S > 1``), or of every FARMS window of
        every slice, pooled and sorted: ``S·(windows)·min(rows, cols)`` values, in the
        weights' dtype (float32 for 16-bit weights).

    Example:
        >>> import jax, htrmt as ht
        >>> W = jax.random.normal(jax.random.key(0), (64, 32))
        >>> ht.act.layer_esd(W).shape
        (32,)
    """
    est = get_estimator(estimator)
    m = jnp.asarray(matrices)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"matrices must be (out, in) or (S, out, in), got shape {m.shape}")
    S = m.shape[0]
    if not jnp.issubdtype(m.dtype, jnp.floating) or jnp.finfo(m.dtype).bits < 32:
        m = m.astype(jnp.float32)  # 16-bit weights: their spectrum in float32
    if est.windows is not None:
        m = _window_stack(m, est.windows)
    if est.spectrum == "svd":
        lam = jnp.linalg.svd(m, compute_uv=False) ** 2
    else:
        mt = jnp.swapaxes(m, -1, -2)
        g = m @ mt if m.shape[-2] <= m.shape[-1] else mt @ m
        lam = jnp.linalg.eigvalsh(g)
    lam = lam.reshape(-1)
    if S > 1:
        lam = lam * jnp.asarray(est.conv_norm, lam.dtype)
    return jnp.sort(lam)


def num_evals(shape: Sequence[int], estimator: Estimator) -> int:
    """The static size of :func:`layer_esd` for ``(S, out, in)`` matrices."""
    S, a, b = shape
    if estimator.windows is None:
        return S * min(a, b)
    w = estimator.windows
    rw, rs = window_starts(a, w.rows, w.num_starts)
    cw, cs = window_starts(b, w.cols, w.num_starts)
    return S * len(rs) * len(cs) * min(rw, cw)
