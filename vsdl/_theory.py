"""Statistical mechanics of Gibbs learning in teacher–student perceptrons.

Every theory here reduces to a one-parameter family of saddle points. The free entropy per
weight is ``f(p) = S(p) + λ G(p)`` with ``p`` the order parameter (the overlap ``R`` with the
teacher, through ``ε = arccos(R)/π``, or the conjugate ``m̂`` in the quenched Ising theory) and
``λ`` the load (``α``, or ``α/τ`` in the high-temperature limit). Stationarity ``f'(p) = 0`` reads
``λ = A(p) := −S'(p)/G'(p)``, so the curve ``p ↦ (A(p), ε(p))`` holds *every* branch of the
saddle-point equations at once: stable branches (local maxima of ``f``) where ``A`` increases with
``R``, unstable ones (local minima) where it decreases, and spinodals at the folds ``A'(p) = 0``.
All roots of ``A(p) = λ`` are found on a fine grid and refined by bisection.

For Ising weights the perfect state ``R = 1`` (``ε = 0``, ``f = 0``) is a local maximum at every
load in all three theories (the energetic gain ``∝ √(1−R)`` beats the entropic cost
``∝ (1−R) ln(1−R)``); the first-order transition is where the best interior branch's free entropy
crosses 0.

Gaussian integrals use fixed Gauss–Legendre rules on truncated ranges adapted to the width of the
integrand (relative accuracy about 1e-12 in float64); everything here is numpy float64.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
from scipy import optimize, special

__all__ = [
    "MODELS",
    "THEORIES",
    "Branches",
    "CriticalLoad",
    "branches",
    "generalization_error",
    "critical_load",
    "free_entropy",
    "psi",
    "stationary_load",
    "ReplicaSymmetric",
    "replica_symmetric",
]

MODELS = ("ising", "spherical")
THEORIES = ("annealed", "high_temperature", "quenched")
MAX_BRANCHES = 6  # slots per point: interior roots (ordered by decreasing ε), then R = 1

_LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- validation


def _check_model_theory(model: Any, theory: Any) -> None:
    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}, got model={model!r}")
    if theory not in THEORIES:
        raise ValueError(f"theory must be one of {list(THEORIES)}, got theory={theory!r}")


def _as_grid(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real number or array, got {name}={x!r}")
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype == bool or np.iscomplexobj(arr):
        raise TypeError(f"{name} must be a real number or array, got {name}={x!r}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {name}={x!r}")
    return arr


def _check_alpha_tau(
    alpha: Any, tau: Any, theory: str, model: str = "ising"
) -> tuple[np.ndarray, np.ndarray]:
    a = _as_grid(alpha, "alpha")
    t = _as_grid(tau, "tau")
    if np.any(a <= 0):
        raise ValueError(f"alpha (the load P/N) must be > 0, got alpha={alpha!r}")
    if np.any(t < 0):
        raise ValueError(f"tau (the temperature) must be >= 0, got tau={tau!r}")
    a_b, t_b = np.broadcast_arrays(a, t)
    return a_b, t_b


# ----------------------------------------------------------------------------- quadrature

_GL_X, _GL_W = np.polynomial.legendre.leggauss(240)
_GLZ_X, _GLZ_W = np.polynomial.legendre.leggauss(800)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _log_phi(x: np.ndarray) -> np.ndarray:
    return -0.5 * x * x - 0.5 * math.log(2.0 * math.pi)


def _gauss_t(a: np.ndarray, fn) -> np.ndarray:
    """``∫ Dt fn(a t)`` for functions decaying like a Gaussian (|x| > 12 negligible)."""
    a = np.asarray(a, np.float64)
    half = 12.0 / np.maximum(a, 1.0)
    t = half[..., None] * _GL_X
    w = half[..., None] * _GL_W * np.exp(_log_phi(t))
    return np.sum(w * fn(a[..., None] * t), axis=-1)


def _F(x: np.ndarray) -> np.ndarray:
    """``2 H(−x) ln H(−x)`` with ``H(−x) = Φ(x)``."""
    lp = special.log_ndtr(x)
    return 2.0 * np.exp(lp) * lp


def _F2(x: np.ndarray) -> np.ndarray:
    """Second derivative of ``_F``: ``2[−x φ(x)(ln Φ(x) + 1) + φ(x)²/Φ(x)]``."""
    lp = special.log_ndtr(x)
    lphi = _log_phi(x)
    return 2.0 * (-x * np.exp(lphi) * (lp + 1.0) + np.exp(2.0 * lphi - lp))


def psi(q: Any, one_minus_q: Any = None) -> np.ndarray:
    """The zero-temperature energetic term ``Ψ(q) = 2∫Dt H(−t√(q/(1−q))) ln H(−t√(q/(1−q)))``.

    Args:
        q: overlap(s) in ``[0, 1)``.
        one_minus_q: ``1 − q`` computed accurately by the caller (defaults to ``1 − q``).

    Returns:
        ``Ψ(q)`` (``−ln 2`` at ``q = 0``, increasing to 0 as ``q → 1``).

    References:
        Engel & Van den Broeck, *Statistical Mechanics of Learning* (2001), eq. (2.42).
    """
    q = np.asarray(q, np.float64)
    omq = 1.0 - q if one_minus_q is None else np.asarray(one_minus_q, np.float64)
    a = np.sqrt(q / omq)
    return _gauss_t(a, _F)


def _F1(x: np.ndarray) -> np.ndarray:
    """First derivative of ``_F``: ``2 φ(x)(ln Φ(x) + 1)``."""
    return 2.0 * np.exp(_log_phi(x)) * (special.log_ndtr(x) + 1.0)


def _psi_prime(q: np.ndarray, omq: np.ndarray) -> np.ndarray:
    """``Ψ'(q)`` in two cancellation-free forms.

    Small ``a = √(q/(1−q))``: ``Ψ' = ∫Dt F''(a t) / (2(1−q)²)`` (integration by parts).
    Large ``a`` (that form cancels to relative order ``1/a²``):
    ``Ψ' = ∫dx φ(x/a) x F'(x) / (2 q^{3/2} √(1−q))``.
    """
    q = np.asarray(q, np.float64)
    omq = np.asarray(omq, np.float64)
    a = np.sqrt(q / omq)
    small = _gauss_t(np.minimum(a, 1.0), _F2) / (2.0 * omq * omq)
    x = 12.0 * _GL_X
    wx = 12.0 * _GL_W * x * _F1(x)
    ab = np.maximum(a, 1.0)[..., None]
    big = np.sum(wx * np.exp(_log_phi(x / ab)), axis=-1) / (2.0 * q**1.5 * np.sqrt(omq))
    return np.where(a < 1.0, small, big)


# ----------------------------------------------------------------------------- families
#
# A family evaluated at parameters p returns a dict with
#   eps: generalization error; S: entropic part; G: energetic part (f = S + λ G);
#   A: the load λ at which p is stationary; up: +1 if R increases with p, −1 otherwise.
# λ = α for the annealed and quenched theories and λ = α/τ in the high-temperature limit.


def _R_parts(eps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``R = cos(π ε)``, ``1 − R`` and ``1 + R`` without cancellation."""
    R = np.cos(np.pi * eps)
    omR = 2.0 * np.sin(0.5 * np.pi * eps) ** 2
    opR = 2.0 * np.cos(0.5 * np.pi * eps) ** 2
    return R, omR, opR


def _entropy_R(model: str, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entropy per weight at overlap R and its derivative dS/dR."""
    R, omR, opR = _R_parts(eps)
    if model == "spherical":
        S = 0.5 * (np.log(omR) + np.log(opR))
        dS = -R / (omR * opR)
    else:
        p, pm = 0.5 * opR, 0.5 * omR
        S = -special.xlogy(p, p) - special.xlogy(pm, pm)
        dS = 0.5 * (np.log(omR) - np.log(opR))
    return S, dS


def _family_R(model: str, theory: str, eps: np.ndarray, c: np.ndarray | float) -> dict:
    """Annealed (``c = 1 − e^{−1/τ}``) and high-temperature families, parametrised by ε."""
    S, dS = _entropy_R(model, eps)
    sin = np.sin(np.pi * eps)
    A_ht = -dS * np.pi * sin  # λ = α/τ at stationarity of S − λ ε
    if theory == "high_temperature":
        return {"eps": eps, "S": S, "G": -eps, "A": A_ht, "up": -1.0}
    c = np.asarray(c, np.float64)
    G = np.log1p(-c * eps)
    A = A_ht * (1.0 - c * eps) / c
    return {"eps": eps, "S": S, "G": G, "A": A, "up": -1.0}


def _spherical_quenched(eps: np.ndarray) -> dict:
    R, omR, _ = _R_parts(eps)
    S = 0.5 * np.log(omR) + 0.5 * R
    G = psi(R, omR)
    A = R / (2.0 * omR * _psi_prime(R, omR))
    return {"eps": eps, "S": S, "G": G, "A": A, "up": -1.0}


def _ising_order(mhat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m = E tanh(m̂ + √m̂ z)``, ``1 − m`` and ``E ln cosh(m̂ + √m̂ z)``."""
    mhat = np.asarray(mhat, np.float64)
    z = 14.0 * _GLZ_X
    w = 14.0 * _GLZ_W * np.exp(_log_phi(z))
    x = mhat[..., None] + np.sqrt(mhat)[..., None] * z
    one_minus_m = np.sum(w * 2.0 * special.expit(-2.0 * x), axis=-1)
    ax = np.abs(x)
    lncosh = np.sum(w * (ax + np.log1p(np.exp(-2.0 * ax)) - _LN2), axis=-1)
    return 1.0 - one_minus_m, one_minus_m, lncosh


def _ising_quenched(mhat: np.ndarray) -> dict:
    m, omm, lncosh = _ising_order(mhat)
    S = _LN2 + lncosh - 0.5 * mhat - 0.5 * m * mhat
    G = psi(m, omm)
    A = mhat / (2.0 * _psi_prime(m, omm))
    eps = np.arccos(np.clip(m, -1.0, 1.0)) / np.pi
    # arccos loses accuracy near 1: use 2 arcsin(√((1−m)/2))
    eps = 2.0 * np.arcsin(np.sqrt(0.5 * omm)) / np.pi
    return {"eps": eps, "S": S, "G": G, "A": A, "up": 1.0}


def _family(model: str, theory: str, p: np.ndarray, c: Any = 1.0) -> dict:
    if theory == "quenched":
        return _ising_quenched(p) if model == "ising" else _spherical_quenched(p)
    return _family_R(model, theory, p, c)


@functools.cache
def _pgrid(model: str, theory: str) -> np.ndarray:
    if theory == "quenched" and model == "ising":
        return np.concatenate(
            [np.geomspace(1e-6, 1.0, 300, endpoint=False), np.linspace(1.0, 90.0, 3000)]
        )
    return np.concatenate(
        [np.geomspace(1e-13, 1e-2, 400, endpoint=False), np.linspace(1e-2, 0.5, 2500)]
    )


def stationary_load(p: Any, *, model: str, theory: str, tau: float = 0.0) -> dict:
    """The saddle-point curve: for each order parameter ``p``, the load at which it is stationary.

    Args:
        p: the order parameter: the generalization error ``ε ∈ (0, 1/2]`` of the state, except
            for ``model='ising', theory='quenched'`` where it is the conjugate ``m̂ > 0``.
        model: ``'ising'`` or ``'spherical'``.
        theory: ``'annealed'``, ``'high_temperature'`` or ``'quenched'``.
        tau: temperature (annealed only; the other families do not depend on it).

    Returns:
        A dict of arrays: ``eps`` (generalization error), ``load`` (α, or α/τ for the
        high-temperature limit), ``free_entropy`` (at that load), ``stable`` (a local maximum).
    """
    _check_model_theory(model, theory)
    p = _as_grid(p, "p")
    c = -math.expm1(-1.0 / tau) if tau > 0 else 1.0
    fam = _family(model, theory, p, c)
    dp = 1e-7 * np.maximum(np.abs(p), 1e-6)
    Ap = _family(model, theory, p + dp, c)["A"]
    Am = _family(model, theory, np.maximum(p - dp, 0.5 * p), c)["A"]
    stable = (Ap - Am) * fam["up"] > 0
    return {
        "eps": fam["eps"],
        "load": fam["A"],
        "free_entropy": fam["S"] + fam["A"] * fam["G"],
        "stable": stable,
    }


# ----------------------------------------------------------------------------- branches


@dataclasses.dataclass(frozen=True)
class Branches:
    """All saddle points of the free entropy at each (α, τ).

    Slots along the last axis hold the interior stationary points (ordered by decreasing ε) and,
    for Ising weights, the perfect state ``ε = 0`` last. Unused slots have ``valid == False``
    and NaN in the float fields.

    Attributes:
        epsilon: generalization error of each saddle point, shape ``(..., MAX_BRANCHES)``.
        free_entropy: free entropy per weight of each saddle point.
        stable: True where the saddle point is a local maximum (a thermodynamic state).
        valid: True where the slot holds a saddle point.
        global_index: slot of the global maximum, shape ``(...)``.
        entropy: entropy per weight of each saddle point where the theory computes it (the
            quenched Ising theory at τ > 0), else None.
        replicon: the replicon (de Almeida–Thouless) factor ``λ_AT`` of each interior saddle
            point in the quenched (replica-symmetric) theory, else None. The RS state is
            locally stable against replica-symmetry breaking where ``λ_AT < 1``; on the
            Nishimori line (τ = 0) it crosses 1 exactly at the spinodal, so the stable branches
            have ``λ_AT < 1`` and the unstable ones ``λ_AT > 1``. NaN in the perfect state's slot
            (a single configuration of Ising weights: there are no overlap fluctuations to
            break the symmetry of) and in unused slots.
    """

    epsilon: np.ndarray
    free_entropy: np.ndarray
    stable: np.ndarray
    valid: np.ndarray
    global_index: np.ndarray
    entropy: np.ndarray | None = None
    replicon: np.ndarray | None = None

    @property
    def global_epsilon(self) -> np.ndarray:
        """Generalization error of the equilibrium state."""
        return np.take_along_axis(self.epsilon, self.global_index[..., None], -1)[..., 0]

    @property
    def num_stable(self) -> np.ndarray:
        """Number of local maxima (thermodynamic states, metastable ones included)."""
        return np.sum(self.stable & self.valid, axis=-1)


def _roots_for(model: str, theory: str, lam: np.ndarray, c: np.ndarray) -> tuple:
    """Interior roots of ``A(p) = λ`` for flat arrays ``lam`` and ``c`` (same shape (n,))."""
    grid = _pgrid(model, theory)
    n = lam.shape[0]
    nslot = MAX_BRANCHES - 1
    rows_l: list[np.ndarray] = []
    ks_l: list[np.ndarray] = []
    lams_l: list[np.ndarray] = []
    cs_l: list[np.ndarray] = []
    dlos: list[np.ndarray] = []
    rising_l: list[np.ndarray] = []
    uc, inv = np.unique(c, return_inverse=True)
    for j, cj in enumerate(uc):  # the curve on the grid, once per temperature
        sel = np.nonzero(inv == j)[0]
        A = _family(model, theory, grid, cj)["A"]
        d = A[None, :] - lam[sel, None]  # (m, K)
        pos = d > 0
        cross = pos[:, :-1] != pos[:, 1:]
        r, k = np.nonzero(cross)
        rows_l.append(sel[r])
        ks_l.append(k)
        lams_l.append(lam[sel[r]])
        cs_l.append(np.full(k.shape, cj))
        dlos.append(d[r, k])
        rising_l.append(A[k + 1] > A[k])
    rows, ks, lams, cs = (np.concatenate(v) for v in (rows_l, ks_l, lams_l, cs_l))
    dlo, rising = np.concatenate(dlos), np.concatenate(rising_l)
    lo, hi = grid[ks], grid[ks + 1]
    for _ in range(55):  # bisection to float64 resolution, all brackets at once
        mid = 0.5 * (lo + hi)
        dm = _family(model, theory, mid, cs)["A"] - lams
        same = (dm > 0) == (dlo > 0)
        lo = np.where(same, mid, lo)
        dlo = np.where(same, dm, dlo)
        hi = np.where(same, hi, mid)
    fr = _family(model, theory, 0.5 * (lo + hi), cs)
    stable_all = rising if fr["up"] > 0 else ~rising
    f_all = fr["S"] + lams * fr["G"]
    # slot index within each row, ordered by decreasing ε
    order = np.lexsort((-fr["eps"], rows))
    rows, e_o, f_o, s_o = rows[order], fr["eps"][order], f_all[order], stable_all[order]
    first = np.searchsorted(rows, rows, side="left")
    slot = np.arange(rows.size) - first
    if np.any(slot >= nslot):
        bad = rows[slot >= nslot][0]
        raise ValueError(f"more than {nslot} saddle points at load {lam[bad]!r}; grid too coarse")
    eps = np.full((n, nslot), np.nan)
    f = np.full((n, nslot), np.nan)
    stable = np.zeros((n, nslot), bool)
    eps[rows, slot], f[rows, slot], stable[rows, slot] = e_o, f_o, s_o
    return eps, f, stable


def branches(
    alpha: Any, tau: Any = 0.0, *, model: str = "ising", theory: str = "annealed"
) -> Branches:
    """Every saddle point of the free entropy at each (α, τ), stable and unstable.

    Args:
        alpha: load ``P/N`` (> 0), any shape; broadcast against ``tau``.
        tau: temperature (>= 0). ``theory='quenched'`` needs ``tau == 0``.
        model: ``'ising'`` (``w_i = ±1``) or ``'spherical'`` (``|w|² = N``).
        theory: ``'annealed'``, ``'high_temperature'`` (α/τ fixed) or ``'quenched'``
            (replica symmetric, τ = 0).

    Returns:
        A :class:`Branches` with arrays of shape ``broadcast(alpha, tau).shape + (MAX_BRANCHES,)``.

    Raises:
        ValueError: alpha <= 0, tau < 0, tau > 0 with the quenched theory, unknown names.

    Example:
        >>> b = branches(1.3, 0.0, model="ising", theory="quenched")
        >>> int(b.num_stable)  # a metastable poor state next to perfect generalization
        2
    """
    _check_model_theory(model, theory)
    a, t = _check_alpha_tau(alpha, tau, theory, model)
    if theory == "quenched" and model == "spherical" and np.any(t > 0):
        return _spherical_quenched_branches(a, t)
    if theory == "quenched" and model == "ising" and np.any(t > 0):
        return _ising_quenched_branches(a, t)
    shape = a.shape
    a, t = a.ravel(), t.ravel()
    if theory == "high_temperature":
        with np.errstate(divide="ignore"):
            lam = np.where(t > 0, a / np.where(t > 0, t, 1.0), np.inf)
        c = np.ones_like(a)
    else:
        lam = a
        c = (
            np.where(t > 0, -np.expm1(-1.0 / np.where(t > 0, t, 1.0)), 1.0)
            if theory == "annealed"
            else np.ones_like(a)
        )
    n = a.size
    finite = np.isfinite(lam)
    eps = np.full((n, MAX_BRANCHES), np.nan)
    f = np.full((n, MAX_BRANCHES), np.nan)
    stable = np.zeros((n, MAX_BRANCHES), bool)
    if np.any(finite):
        e_i, f_i, s_i = _roots_for(model, theory, lam[finite], c[finite])
        eps[finite, :-1], f[finite, :-1], stable[finite, :-1] = e_i, f_i, s_i
    if model == "ising":
        eps[:, -1], f[:, -1], stable[:, -1] = 0.0, 0.0, True
    else:
        # spherical, α/τ = ∞: the limit ε → 0 of the closed form
        eps[~finite, -1], f[~finite, -1], stable[~finite, -1] = 0.0, 0.0, True
    valid = ~np.isnan(eps)
    score = np.where(stable & valid, f, -np.inf)
    gidx = np.argmax(score, axis=-1)
    if np.any(~np.isfinite(np.max(score, axis=-1))):
        bad = np.nonzero(~np.isfinite(np.max(score, axis=-1)))[0][0]
        raise ValueError(
            f"no stable saddle point found at alpha={a[bad]!r}, tau={t[bad]!r} "
            f"(model={model!r}, theory={theory!r}); the load may be outside the resolved range"
        )
    rs = lambda x: x.reshape(shape + (MAX_BRANCHES,))
    rep = None
    if theory == "quenched":  # τ = 0: the version space, q = R
        rep = rs(_replicon_slots(model, eps, a, np.full(a.shape, np.inf)))
    return Branches(rs(eps), rs(f), rs(stable), rs(valid), gidx.reshape(shape), replicon=rep)


def _replicon_slots(model: str, eps: np.ndarray, a: np.ndarray, beta: np.ndarray, q=None):
    """Replicon factor of the interior slots of ``(n, MAX_BRANCHES)`` branches (NaN elsewhere).

    ``q`` defaults to ``R`` (the version space at τ = 0)."""
    from ._quenched_t import replicon

    out = np.full(eps.shape, np.nan)
    sel = np.isfinite(eps) & (eps > 0)
    if np.any(sel):
        _, omR, _ = _R_parts(eps[sel])
        R = 1.0 - omR
        qq = R if q is None else q[sel]
        A = np.broadcast_to(a[:, None], eps.shape)[sel]
        B = np.broadcast_to(beta[:, None], eps.shape)[sel]
        out[sel] = replicon(qq, R, B, A, model)
    return out


@dataclasses.dataclass(frozen=True)
class ReplicaSymmetric:
    """Replica-symmetric saddle point of the spherical perceptron at temperature τ.

    Attributes:
        q: student–student overlap; R: teacher–student overlap; epsilon: ``arccos(R)/π``;
        free_entropy: free entropy per weight. All of shape ``broadcast(alpha, tau).shape``.
        replicon: the replicon (de Almeida–Thouless) factor ``λ_AT`` of the solution
            (``α (1−q)² ∫Dt 2H(−Rt/√(q−R²)) (∂²_ω ln Z_out)²``); it is locally stable against
            replica-symmetry breaking where ``λ_AT < 1``.
    """

    q: np.ndarray
    R: np.ndarray
    epsilon: np.ndarray
    free_entropy: np.ndarray
    replicon: np.ndarray | None = None


def replica_symmetric(alpha: Any, tau: Any) -> ReplicaSymmetric:
    """Quenched replica-symmetric Gibbs learning of the spherical perceptron at any τ >= 0.

    At τ > 0 the saddle point has ``q ≠ R``; it is solved by a damped Newton iteration started
    from the annealed solution, and it reduces to the version-space theory (``q = R``) at τ = 0
    and to the high-temperature closed form as τ → ∞ with α/τ fixed. Where Newton from that start
    stalls (low τ, large load, e.g. α = 30, τ = 0.1) it is retried from a start with ``q`` closer
    to ``R`` and then by continuation in α from a smaller load. The replicon factor of the
    solution is returned with it.

    Args:
        alpha: loads (> 0), broadcast against ``tau``.
        tau: temperatures (>= 0).

    Returns:
        A :class:`ReplicaSymmetric`.

    Raises:
        ValueError: alpha <= 0, tau < 0, or the iteration did not converge at some point.

    Example:
        >>> rs = replica_symmetric(2.0, 0.5)
        >>> bool(rs.q < rs.R)
        True
    """
    from ._quenched_t import solve

    a, t = _check_alpha_tau(alpha, tau, "quenched", "spherical")
    shape = a.shape
    a, t = a.ravel(), t.ravel()
    q = np.empty(a.shape)
    R = np.empty(a.shape)
    f = np.empty(a.shape)
    cold = t == 0
    if np.any(cold):
        b = branches(a[cold], 0.0, model="spherical", theory="quenched")
        e0 = b.epsilon[..., 0]
        R[cold] = np.cos(np.pi * e0)
        q[cold] = R[cold]
        f[cold] = b.free_entropy[..., 0]
    hot = ~cold
    if np.any(hot):
        e_ann = branches(a[hot], t[hot], model="spherical", theory="annealed").global_epsilon
        R_ann = np.cos(np.pi * e_ann)
        qh, Rh, fh, conv = solve(a[hot], t[hot], R_ann)
        if not np.all(conv):
            qh, Rh, fh, conv = _rs_retry(a[hot], t[hot], R_ann, qh, Rh, fh, conv)
        if not np.all(conv):
            i = np.nonzero(~conv)[0][0]
            raise ValueError(
                "the replica-symmetric saddle point did not converge at "
                f"alpha={a[hot][i]!r}, tau={t[hot][i]!r}"
            )
        q[hot], R[hot], f[hot] = qh, Rh, fh
    eps = 2.0 * np.arcsin(np.sqrt(np.clip(0.5 * (1.0 - R), 0.0, 1.0))) / np.pi
    from ._quenched_t import replicon

    with np.errstate(divide="ignore"):
        beta = np.where(t > 0, 1.0 / np.where(t > 0, t, 1.0), np.inf)
    lam = replicon(q, R, beta, a, "spherical")
    rs = lambda x: x.reshape(shape)
    return ReplicaSymmetric(rs(q), rs(R), rs(eps), rs(f), rs(lam))


def _rs_retry(a, t, R_ann, q, R, f, conv):
    """Second tries at the spherical RS points where Newton from the annealed start failed.

    At low τ and large α the default start ``q0`` sits too far from ``R`` and the iteration stalls
    (e.g. α = 30, τ = 0.1). First retry from starts with ``q0`` closer to ``R``, then continue in
    α from a converged smaller load at the same τ.
    """
    from ._quenched_t import solve

    q, R, f, conv = q.copy(), R.copy(), f.copy(), conv.copy()
    for s in (0.99, 0.999, 0.9):
        bad = ~conv
        if not np.any(bad):
            return q, R, f, conv
        R0 = R_ann[bad]
        out = solve(a[bad], t[bad], R0, R0 * R0 + s * (R0 - R0 * R0))
        ok = out[3]
        idx = np.nonzero(bad)[0][ok]
        q[idx], R[idx], f[idx], conv[idx] = out[0][ok], out[1][ok], out[2][ok], True
    for i in np.nonzero(~conv)[0]:
        # continuation in α from a quarter of the load, where the default start converges
        path = np.geomspace(0.25 * a[i], a[i], 13)
        e0 = branches(path[0], t[i], model="spherical", theory="annealed").global_epsilon
        qi, Ri, fi, ci = solve(path[:1], t[i : i + 1], np.cos(np.pi * np.atleast_1d(e0)))
        for aa in path[1:]:
            if not ci[0]:
                break
            qi, Ri, fi, ci = solve(np.array([aa]), t[i : i + 1], Ri, qi)
        if ci[0]:
            q[i], R[i], f[i], conv[i] = qi[0], Ri[0], fi[0], True
    return q, R, f, conv


_RS_RGRID = np.concatenate(
    [
        np.geomspace(1e-3, 0.02, 30, endpoint=False),
        np.linspace(0.02, 0.9, 300),
        1.0 - np.geomspace(0.1, 1e-4, 100)[1:],
    ]
)
_RS_CACHE: dict[float, tuple] = {}


def _ising_rs_curves(taus: np.ndarray) -> dict[float, tuple]:
    """The Ising RS saddle-point curve ``R ↦ (α, f, s, λ_AT)`` at each τ > 0 (cached per τ)."""
    from ._quenched_t import energy, ising_branch, replicon

    todo = [float(x) for x in np.unique(taus) if float(x) not in _RS_CACHE]
    if todo:
        tt = np.asarray(todo)
        eps0 = np.arccos(_RS_RGRID[0]) / np.pi
        a0 = np.array(
            [
                _family_R("ising", "annealed", np.array([eps0]), -math.expm1(-1.0 / x))["A"][0]
                for x in tt
            ]
        )
        A, q, f, conv = ising_branch(tt, _RS_RGRID, a0)
        for i, x in enumerate(todo):
            ok = np.cumprod(conv[i]).astype(bool)  # the continued prefix
            R = _RS_RGRID[ok]
            b = np.full(R.shape, 1.0 / x)
            e = energy(q[i, ok], R, b, A[i, ok])
            lam = replicon(q[i, ok], R, b, A[i, ok], "ising")
            _RS_CACHE[x] = (R, A[i, ok], f[i, ok], f[i, ok] + e / x, lam)
    return {float(x): _RS_CACHE[float(x)] for x in np.unique(taus)}


def _ising_rs_transition(curve: tuple) -> tuple[float, float, float, float]:
    R, A, f = curve[:3]
    k = int(np.argmax(A))
    crossings = np.nonzero((f[:k] > 0) & (f[1 : k + 1] <= 0))[0]
    if crossings.size == 0:
        raise ValueError("no first-order transition found on the Ising RS curve")
    j = int(crossings[0])
    w = f[j] / (f[j] - f[j + 1])
    Rc = R[j] + w * (R[j + 1] - R[j])
    ac = A[j] + w * (A[j + 1] - A[j])
    eps = lambda r: float(np.arccos(r) / np.pi)
    return float(ac), float(A[k]), eps(Rc), eps(R[k])


def _ising_quenched_branches(a: np.ndarray, t: np.ndarray) -> Branches:
    """All saddle points of the Ising RS theory; τ > 0 from the R-parametrised curve."""
    shape = a.shape
    af, tf = a.ravel(), t.ravel()
    n = af.size
    eps = np.full((n, MAX_BRANCHES), np.nan)
    f = np.full((n, MAX_BRANCHES), np.nan)
    s = np.full((n, MAX_BRANCHES), np.nan)
    lam = np.full((n, MAX_BRANCHES), np.nan)
    stable = np.zeros((n, MAX_BRANCHES), bool)
    cold = tf == 0
    if np.any(cold):
        b0 = branches(af[cold], 0.0, model="ising", theory="quenched")
        eps[cold], f[cold], stable[cold] = b0.epsilon, b0.free_entropy, b0.stable
        s[cold] = b0.free_entropy
        lam[cold] = b0.replicon
    curves = _ising_rs_curves(tf[~cold])
    for i in np.nonzero(~cold)[0]:
        R, A, fc, sc, lc = curves[float(tf[i])]
        if af[i] < A[0]:
            raise ValueError(
                f"alpha={af[i]!r} is below the range the quenched Ising theory resolves at "
                f"tau={tf[i]!r} (alpha >= {A[0]:.3g}, where R = {R[0]:.0e})"
            )
        d = A - af[i]
        ks = np.nonzero((d[:-1] > 0) != (d[1:] > 0))[0][: MAX_BRANCHES - 1]
        w = d[ks] / (d[ks] - d[ks + 1])
        Rr = R[ks] + w * (R[ks + 1] - R[ks])
        e_r = np.arccos(Rr) / np.pi
        order = np.argsort(-e_r)
        m = ks.size
        eps[i, :m] = e_r[order]
        f[i, :m] = (fc[ks] + w * (fc[ks + 1] - fc[ks]))[order]
        s[i, :m] = (sc[ks] + w * (sc[ks + 1] - sc[ks]))[order]
        lam[i, :m] = (lc[ks] + w * (lc[ks + 1] - lc[ks]))[order]
        stable[i, :m] = (A[ks + 1] > A[ks])[order]
    eps[:, -1], f[:, -1], s[:, -1], stable[:, -1] = 0.0, 0.0, 0.0, True
    valid = ~np.isnan(eps)
    score = np.where(stable & valid, f, -np.inf)
    gidx = np.argmax(score, axis=-1)
    rs = lambda x: x.reshape(shape + (MAX_BRANCHES,))
    return Branches(rs(eps), rs(f), rs(stable), rs(valid), gidx.reshape(shape), rs(s), rs(lam))


def _spherical_quenched_branches(a: np.ndarray, t: np.ndarray) -> Branches:
    rs = replica_symmetric(a, t)
    shape = a.shape
    eps = np.full(shape + (MAX_BRANCHES,), np.nan)
    f = np.full(shape + (MAX_BRANCHES,), np.nan)
    stable = np.zeros(shape + (MAX_BRANCHES,), bool)
    lam = np.full(shape + (MAX_BRANCHES,), np.nan)
    eps[..., 0], f[..., 0], stable[..., 0] = rs.epsilon, rs.free_entropy, True
    lam[..., 0] = rs.replicon
    return Branches(eps, f, stable, ~np.isnan(eps), np.zeros(shape, int), replicon=lam)


def generalization_error(
    alpha: Any, tau: Any = 0.0, *, model: str = "ising", theory: str = "annealed"
) -> np.ndarray:
    """Equilibrium generalization error ``ε(α, τ)`` of Gibbs learning (global maximum).

    Args:
        alpha: load ``P/N`` (> 0), any shape; broadcast against ``tau``.
        tau: temperature (>= 0); the quenched theory needs ``tau == 0``. In the high-temperature
            limit only ``α/τ`` matters (``τ = 0`` there means ``α/τ = ∞``: ``ε = 0``).
        model: ``'ising'`` or ``'spherical'``.
        theory: ``'annealed'``, ``'high_temperature'`` or ``'quenched'``.

    Returns:
        float64 array of shape ``broadcast(alpha, tau).shape``.

    Raises:
        ValueError: alpha <= 0, tau < 0, quenched with tau > 0, unknown model or theory.

    Example:
        >>> float(generalization_error(1.0, 1.0, model="spherical", theory="high_temperature"))
        0.4019...

    References:
        Seung, Sompolinsky & Tishby, Phys. Rev. A 45, 6056 (1992); Engel & Van den Broeck,
        *Statistical Mechanics of Learning* (2001), ch. 2, 4 and 7.
    """
    if theory == "high_temperature" and model == "spherical":
        _check_model_theory(model, theory)
        a, t = _check_alpha_tau(alpha, tau, theory, model)
        return np.arctan(np.pi * t / a) / np.pi
    return branches(alpha, tau, model=model, theory=theory).global_epsilon


def free_entropy(
    alpha: Any, tau: Any = 0.0, *, model: str = "ising", theory: str = "annealed"
) -> np.ndarray:
    """Free entropy per weight of the equilibrium state (the global maximum)."""
    b = branches(alpha, tau, model=model, theory=theory)
    return np.take_along_axis(b.free_entropy, b.global_index[..., None], -1)[..., 0]


# ----------------------------------------------------------------------------- transitions


@dataclasses.dataclass(frozen=True)
class CriticalLoad:
    """The first-order transition to perfect generalization (Ising weights).

    Attributes:
        alpha_c: load of the thermodynamic transition (the poor state's free entropy crosses
            that of the perfect state), shape of ``tau``. For the high-temperature theory the
            load is ``α/τ``.
        alpha_spinodal: load where the metastable poor-generalization branch ends.
        epsilon_poor: generalization error of the poor state at ``alpha_c``.
        epsilon_spinodal: generalization error at the spinodal.
    """

    alpha_c: np.ndarray
    alpha_spinodal: np.ndarray
    epsilon_poor: np.ndarray
    epsilon_spinodal: np.ndarray

    def __float__(self) -> float:
        return float(self.alpha_c)


def _transition_one(model: str, theory: str, c: float) -> tuple[float, float, float, float]:
    grid = _pgrid(model, theory)
    fam = _family(model, theory, grid, c)
    A = fam["A"]
    # walk the curve from R = 0 upward: R increases with p when up > 0
    order = np.argsort(grid) if fam["up"] > 0 else np.argsort(-grid)
    g, Ao = grid[order], A[order]
    k = int(np.argmax(Ao))  # spinodal: fold of the stable poor branch
    # refine the fold with a bounded scalar maximisation of A
    lo, hi = sorted((g[max(k - 1, 0)], g[min(k + 1, g.size - 1)]))
    res = optimize.minimize_scalar(
        lambda p: -float(_family(model, theory, np.array([p]), c)["A"][0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-13 * max(abs(hi), 1e-12)},
    )
    p_sp = float(res.x)
    fam_sp = _family(model, theory, np.array([p_sp]), c)
    a_sp = float(fam_sp["A"][0])
    e_sp = float(fam_sp["eps"][0])

    def h(p):
        fr = _family(model, theory, np.array([p]), c)
        return float(fr["S"][0] + fr["A"][0] * fr["G"][0])

    hs = (fam["S"] + A * fam["G"])[order][: k + 1]
    sgn = np.nonzero(np.sign(hs[:-1]) != np.sign(hs[1:]))[0]
    if sgn.size == 0:
        raise ValueError(
            f"no first-order transition found for model={model!r}, theory={theory!r}, c={c!r}"
        )
    j = int(sgn[0])
    pc = optimize.brentq(h, g[j], g[j + 1], xtol=1e-15, rtol=1e-14)
    fc = _family(model, theory, np.array([pc]), c)
    return float(fc["A"][0]), a_sp, float(fc["eps"][0]), e_sp


def critical_load(
    *, model: str = "ising", theory: str = "quenched", tau: Any = 0.0
) -> CriticalLoad:
    """The first-order transition to perfect generalization and its spinodal.

    Ising weights only: the spherical perceptron learns continuously in these theories (its
    saddle-point curve has no fold), so there is no transition to report.

    The high-temperature spinodal, ``α/τ = 2.08207`` (the fold of ``s(R) − (α/τ)ε(R)``), has the
    value of Baum & Lyuu's rigorous bound for perfect generalization, 2.08; it is not the
    quenched (τ = 0) spinodal, which is 1.49263.

    Args:
        model: ``'ising'`` (``'spherical'`` raises: it has no first-order transition).
        theory: ``'annealed'`` (any τ), ``'high_temperature'`` (loads are ``α/τ``; τ ignored) or
            ``'quenched'`` (τ = 0).
        tau: temperature(s), any shape.

    Returns:
        A :class:`CriticalLoad` whose fields have the shape of ``tau``.

    Raises:
        ValueError: unknown names, tau < 0, quenched with tau > 0, spherical model.

    Example:
        >>> round(float(critical_load(model="ising", theory="quenched").alpha_c), 3)
        1.245

    References:
        Györgyi, Phys. Rev. A 41, 7097 (1990); Sompolinsky, Tishby & Seung, PRL 65, 1683 (1990);
        Baum & Lyuu, Neural Comput. 3, 386 (1991).
    """
    _check_model_theory(model, theory)
    t = _as_grid(tau, "tau")
    if np.any(t < 0):
        raise ValueError(f"tau (the temperature) must be >= 0, got tau={tau!r}")
    if model == "spherical":
        raise ValueError(
            "model='spherical' has no first-order transition: its generalization error falls "
            "continuously with the load (ask generalization_error instead)"
        )
    out = np.empty(t.shape + (4,))
    flat = t.ravel()
    cs = [(-math.expm1(-1.0 / x) if x > 0 else 1.0) if theory == "annealed" else 1.0 for x in flat]
    if theory == "quenched" and np.any(flat > 0):
        hot = np.unique(flat[flat > 0])
        curves = _ising_rs_curves(hot)
    cache: dict[float, tuple] = {}
    for i, cval in enumerate(cs):
        if theory == "quenched" and flat[i] > 0:
            out.reshape(-1, 4)[i] = _ising_rs_transition(curves[float(flat[i])])
            continue
        if cval not in cache:
            cache[cval] = _transition_one(model, theory, cval)
        out.reshape(-1, 4)[i] = cache[cval]
    return CriticalLoad(out[..., 0], out[..., 1], out[..., 2], out[..., 3])
