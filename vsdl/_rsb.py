"""Frozen one-step replica-symmetry breaking of the Ising teacher–student perceptron at τ > 0.

The replica-symmetric (RS) theory gives the metastable poor-generalization state of Ising weights
a negative entropy at low temperature, which discrete weights cannot have: there RS is wrong. The
state that replaces it is a frozen glass, found as Krauth & Mézard found the capacity of the Ising
perceptron. Its one-step RSB solution has the intra-state overlap ``q₁ = 1`` (each state a single
configuration), and with ``q₁ = 1`` the 1RSB free entropy at Parisi parameter ``m`` is the RS one
at the inverse temperature ``βm``, divided by ``m``:

    φ₁(β, m) = φ_RS(βm) / m,    ∂φ₁/∂m = 0  ⇔  s_RS(βm) = 0.

So ``m = τ/τ_K`` where ``τ_K(α)`` is the temperature at which the RS entropy of the poor state
vanishes (the entropy crisis); below ``τ_K`` the glass is frozen in the RS state at ``τ_K``: its
energy, overlaps and generalization error are those of ``τ_K``, its entropy is 0 and its free
entropy ``−e(τ_K)/τ``. Above ``τ_K`` the RS state stands (``m = 1``). The line ``τ = τ_K(α)`` is
the glass line; it starts at the τ = 0 transition (where the version-space entropy of the poor
state vanishes) and ends where it meets the poor state's spinodal. Since ``f_glass < 0 = f`` of
the perfect state, the glass is always metastable: what it decides is where Gibbs dynamics from
a random start is trapped (the Monte Carlo chains that never equilibrate).

``τ_K(α)`` is found by following the RS poor state at fixed α down in temperature from a hot
start (where it is the only state) until its entropy changes sign, then bisecting; where the
state's branch ends at its spinodal (Newton no longer converges on it) before its entropy
vanishes there is no frozen solution at any lower temperature.

References:
    W. Krauth, M. Mézard, J. Phys. France 50, 3057 (1989); G. Györgyi, Phys. Rev. A 41, 7097
    (1990); A. Engel, C. Van den Broeck, *Statistical Mechanics of Learning* (2001), ch. 6–7.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

__all__ = ["STATUSES", "FrozenRSB", "freezing_temperature", "frozen_rsb"]

STATUSES = ("glass", "replica_symmetric", "no_solution", "unresolved")
"""``status`` codes of :class:`FrozenRSB`: ``glass`` (τ < τ_K: the frozen 1RSB state, m < 1),
``replica_symmetric`` (the RS poor state has entropy >= 0: m = 1), ``no_solution`` (no poor
state at all: its branch ended at the spinodal before its entropy vanished, at this or any
higher temperature up to where it stands), ``unresolved`` (the RS equations did not converge)."""

_TAU_FLOOR = 0.01  # the lowest temperature followed; τ_K below it is reported as 0
_STEPS = 20  # temperatures on the way down, geometric from the hot start to the floor
_BISECT = 18
_S_TOL = 1e-6  # |s| at the end of the bisection that counts as the entropy crisis
_JUMP = 0.1  # a change of R larger than this between neighbouring temperatures is a branch jump


@dataclasses.dataclass(frozen=True)
class FrozenRSB:
    """The poor-generalization state of the Ising perceptron beyond replica symmetry.

    Every field has the shape ``broadcast(alpha, tau).shape``.

    Attributes:
        alpha, tau: the points.
        status: index into :data:`STATUSES` (see :meth:`status_names`).
        m: Parisi parameter, ``τ/τ_K`` in the glass, 1 where RS stands, NaN without a state.
        tau_freeze: ``τ_K(α)``, the temperature where the RS poor state's entropy vanishes
            (0 where it stays positive down to τ = 0.01; NaN where the state's branch ends first).
        epsilon: generalization error of the state (the glass: that of the RS state at τ_K).
        energy: training errors per weight ``e``.
        entropy: entropy per weight (0 in the glass).
        free_entropy: ``s − e/τ`` (the glass: ``−e/τ``).
        q0: overlap between two states (the RS ``q`` at τ_K in the glass, the RS ``q`` else);
            the overlap within a glass state is ``q₁ = 1``.
        R: overlap with the teacher.
    """

    alpha: np.ndarray
    tau: np.ndarray
    status: np.ndarray
    m: np.ndarray
    tau_freeze: np.ndarray
    epsilon: np.ndarray
    energy: np.ndarray
    entropy: np.ndarray
    free_entropy: np.ndarray
    q0: np.ndarray
    R: np.ndarray

    def status_names(self) -> np.ndarray:
        """The status of each point as strings."""
        return np.asarray(STATUSES, dtype=object)[self.status]


def _state(alpha, tau, R0, q0, iters: int = 12):
    """RS poor state at (α, τ) from a warm start: ``(q, R, s, e, ok)`` (flat arrays)."""
    from ._quenched_t import energy, solve_ising

    q, R, f, conv = solve_ising(alpha, tau, R0, q0, iters=iters)
    beta = 1.0 / tau
    with np.errstate(invalid="ignore"):
        e = energy(q, R, beta, alpha)
    s = f + beta * e
    ok = conv & np.isfinite(s) & (np.abs(R - R0) < _JUMP) & (R < 1.0 - 1e-9)
    return q, R, s, e, ok


@functools.lru_cache(maxsize=64)
def _freeze_cached(alpha: tuple) -> tuple:
    return _freeze(np.asarray(alpha, np.float64))


def _freeze(alpha: np.ndarray) -> tuple:
    """For each load: where the poor state's entropy vanishes or its branch ends.

    Returns ``(tau_b, crisis, q, R, e, taus, Q, RR, OK, conv0)``: the boundary temperature, True
    where it is an entropy crisis (False: a fold, or no boundary above the floor when
    ``tau_b == 0``), the state at the boundary, and the states met on the way down (for warm
    starts), ``conv0`` False where even the hot start failed.
    """
    from . import _theory as th

    n = alpha.size
    top = np.maximum(1.5, alpha / 1.5)
    taus = top[:, None] * (_TAU_FLOOR / top[:, None]) ** (np.arange(_STEPS + 1) / _STEPS)
    R_ann = np.array(
        [
            math.cos(
                math.pi * float(th.branches(a, t, model="ising", theory="annealed").epsilon[..., 0])
            )
            for a, t in zip(alpha, top)
        ]
    )
    Q = np.full((n, _STEPS + 1), np.nan)
    RR = np.full((n, _STEPS + 1), np.nan)
    S = np.full((n, _STEPS + 1), np.nan)
    E = np.full((n, _STEPS + 1), np.nan)
    OK = np.zeros((n, _STEPS + 1), bool)
    q, R, s, e, ok = _state(alpha, taus[:, 0], R_ann, None, iters=60)
    ok &= s >= 0
    conv0 = ok.copy()
    Q[:, 0], RR[:, 0], S[:, 0], E[:, 0], OK[:, 0] = q, R, s, e, ok
    live = ok.copy()
    first_bad = np.full(n, _STEPS + 1)
    for k in range(1, _STEPS + 1):
        if not np.any(live):
            break
        i = np.nonzero(live)[0]
        q, R, s, e, ok = _state(alpha[i], taus[i, k], RR[i, k - 1], Q[i, k - 1])
        ok &= s >= 0
        Q[i, k], RR[i, k], S[i, k], E[i, k], OK[i, k] = q, R, s, e, ok
        first_bad[i[~ok]] = k
        live[i[~ok]] = False
    # bisect (in log τ) between the last good temperature and the first bad one
    tau_b = np.zeros(n)
    crisis = np.zeros(n, bool)
    qb, Rb, eb = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    br = np.nonzero(conv0 & (first_bad <= _STEPS))[0]
    if br.size:
        kb = first_bad[br]
        lo, hi = np.log(taus[br, kb]), np.log(taus[br, kb - 1])
        hq, hR, hs, he = Q[br, kb - 1], RR[br, kb - 1], S[br, kb - 1], E[br, kb - 1]
        for _ in range(_BISECT):
            mid = 0.5 * (lo + hi)
            q, R, s, e, ok = _state(alpha[br], np.exp(mid), hR, hq)
            ok &= s >= 0
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
            hq, hR = np.where(ok, q, hq), np.where(ok, R, hR)
            hs, he = np.where(ok, s, hs), np.where(ok, e, he)
        tau_b[br] = np.exp(hi)
        crisis[br] = hs < _S_TOL
        qb[br], Rb[br], eb[br] = hq, hR, he
    return tau_b, crisis, qb, Rb, eb, taus, Q, RR, OK, conv0


def frozen_rsb(alpha: Any, tau: Any) -> FrozenRSB:
    """The frozen one-step RSB (entropy-crisis) solution of the Ising perceptron at τ > 0.

    Args:
        alpha: loads (> 0), broadcast against ``tau``.
        tau: temperatures (> 0; at τ = 0 the RS version-space entropy is the criterion itself).

    Returns:
        A :class:`FrozenRSB`: for each point its status (glass, RS, no solution), the Parisi
        parameter ``m``, the freezing temperature ``τ_K(α)`` and the state's ε, energy, entropy,
        free entropy and overlaps.

    Raises:
        ValueError: alpha <= 0 or tau <= 0 (naming the value), non-finite values.

    Example:
        >>> g = frozen_rsb(1.4, 0.2)
        >>> str(g.status_names()), round(float(g.tau_freeze), 2), round(float(g.m), 2)
        ('glass', 0.22, 0.91)
    """
    from . import _theory as th

    a = th._as_grid(alpha, "alpha")
    t = th._as_grid(tau, "tau")
    if np.any(a <= 0):
        raise ValueError(f"alpha (the load P/N) must be > 0, got alpha={alpha!r}")
    if np.any(t <= 0):
        raise ValueError(
            f"tau must be > 0 for the frozen 1RSB solution, got tau={tau!r} (at tau = 0 the "
            "version-space entropy of the RS branches is the criterion: vsdl.theory.branches)"
        )
    A, T = np.broadcast_arrays(a, t)
    return _frozen_rsb_from(np.unique(A), A, T)


def freezing_temperature(alpha: np.ndarray) -> np.ndarray:
    """``τ_K(α)`` for 1-D loads: 0 where the RS entropy stays >= 0, NaN without a crisis."""
    tau_b, crisis, *_, conv0 = _freeze_cached(tuple(np.asarray(alpha, float).tolist()))
    return np.where(conv0 & (crisis | (tau_b == 0)), tau_b, np.nan)


def _frozen_rsb_from(ua: np.ndarray, A: np.ndarray, T: np.ndarray) -> FrozenRSB:
    """:func:`frozen_rsb` with the descents run on the sorted loads ``ua`` (which hold ``A``)."""
    shape = A.shape
    af, tf = A.ravel(), T.ravel()
    inv = np.searchsorted(ua, af)
    tau_b, crisis, qb, Rb, eb, taus, Q, RR, OK, conv0 = _freeze_cached(tuple(ua.tolist()))
    n = af.size
    nan = lambda: np.full(n, np.nan)  # noqa: E731
    status = np.full(n, STATUSES.index("no_solution"))
    m, tk, eps, en, s, f, q0, R = nan(), nan(), nan(), nan(), nan(), nan(), nan(), nan()
    tb, cr = tau_b[inv], crisis[inv]
    tk = np.where(cr | (tb == 0), tb, np.nan)
    tk = np.where(conv0[inv], tk, np.nan)
    glass = conv0[inv] & cr & (tf < tb)
    status[glass] = STATUSES.index("glass")
    m[glass] = tf[glass] / tb[glass]
    R[glass], q0[glass], en[glass] = Rb[inv][glass], qb[inv][glass], eb[inv][glass]
    s[glass] = 0.0
    f[glass] = -en[glass] / tf[glass]
    rs_pts = np.nonzero(conv0[inv] & (tf >= tb))[0]
    if rs_pts.size:
        u = inv[rs_pts]
        # warm start: the state met on the way down at the nearest temperature above τ
        above = np.where(OK[u] & (taus[u] >= tf[rs_pts, None]), taus[u], np.inf)
        j = np.argmin(above, axis=-1)
        qs, Rs, ss, es, ok = _state(af[rs_pts], tf[rs_pts], RR[u, j], Q[u, j])
        good, bad = rs_pts[ok], rs_pts[~ok]
        status[good] = STATUSES.index("replica_symmetric")
        m[good], R[good], q0[good], s[good], en[good] = 1.0, Rs[ok], qs[ok], ss[ok], es[ok]
        f[good] = ss[ok] - es[ok] / tf[good]
        status[bad] = STATUSES.index("unresolved")
    status[~conv0[inv]] = STATUSES.index("unresolved")
    has = np.isfinite(R)
    eps[has] = 2.0 * np.arcsin(np.sqrt(np.clip(0.5 * (1.0 - R[has]), 0.0, 1.0))) / np.pi
    rs = lambda x: x.reshape(shape)  # noqa: E731
    return FrozenRSB(
        rs(A.astype(float)),
        rs(T.astype(float)),
        rs(status),
        rs(m),
        rs(tk),
        rs(eps),
        rs(en),
        rs(s),
        rs(f),
        rs(q0),
        rs(R),
    )
