"""Replica-symmetric Gibbs learning of the spherical perceptron at temperature τ > 0.

Free entropy per weight, extremised over the student–student overlap ``q`` and the
teacher–student overlap ``R`` (``q ≠ R`` away from τ = 0):

    f(q, R) = ½ ln(1−q) + (q−R²)/(2(1−q))
              + α · 2∫Dt H(−R t/√(q−R²)) ln[e^{−1/τ} + (1−e^{−1/τ}) H(−√(q/(1−q)) t)]

(Engel & Van den Broeck 2001, ch. 4; Seung, Sompolinsky & Tishby 1992). The saddle point solves
``∂f/∂q = ∂f/∂R = 0`` (analytic gradients below; a damped Newton iteration with a finite-difference
Jacobian, vectorised over points). Limits used to validate it: τ → 0 gives ``q = R`` and the
version-space theory; τ → ∞ with α/τ fixed gives the high-temperature closed form.
Its replicon (de Almeida–Thouless) factor is :func:`replicon`, for both weight priors.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

_GX, _GW = np.polynomial.legendre.leggauss(48)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _nodes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes on [−12, 12] with panels resolving widths 1/a and 1/b."""
    s1 = np.minimum(12.0, 10.0 / np.maximum(a, 1e-300))
    s2 = np.minimum(12.0, 10.0 / np.maximum(b, 1e-300))
    lo, hi = np.minimum(s1, s2), np.maximum(s1, s2)
    s3 = np.minimum(12.0, 0.1 * lo)
    z = np.zeros_like(a)
    L = np.full_like(a, 12.0)
    br = np.stack([-L, -hi, -lo, -s3, z, s3, lo, hi, L], -1)  # (n, 9)
    left, right = br[:, :-1, None], br[:, 1:, None]
    half = 0.5 * (right - left)
    t = (left + right) * 0.5 + half * _GX
    w = half * _GW
    n = a.shape[0]
    return t.reshape(n, -1), w.reshape(n, -1)


def _phi(x):
    return np.exp(-0.5 * x * x - _LOG_SQRT_2PI)


def _energetic(q, R, beta):
    """The energetic term ``G_E(q, R)`` and its gradient (∂/∂q, ∂/∂R), flat arrays."""
    omq = 1.0 - q
    d = q - R * R
    a = np.sqrt(q / omq)
    b = R / np.sqrt(d)
    t, w = _nodes(a, b)
    w = w * _phi(t)
    cb = -np.expm1(-beta)[:, None]
    at, bt = a[:, None] * t, b[:, None] * t
    # ln D without underflow when Φ(a t) is tiny and β large
    lnD = np.logaddexp(-beta[:, None], np.log(cb) + special.log_ndtr(at))
    Phib = special.ndtr(bt)
    G = 2.0 * np.sum(w * Phib * lnD, -1)
    db_dq = -R / (2.0 * d**1.5)
    db_dR = q / d**1.5
    da_dq = 1.0 / (2.0 * np.sqrt(q) * omq**1.5)
    tphib = t * _phi(bt)
    ratio = np.exp(np.log(cb) - 0.5 * at * at - _LOG_SQRT_2PI - lnD)  # c φ(at)/D, no 0/0
    Gq = 2.0 * np.sum(w * (tphib * lnD * db_dq[:, None] + Phib * ratio * t * da_dq[:, None]), -1)
    GR = 2.0 * np.sum(w * tphib * lnD, -1) * db_dR
    return G, Gq, GR


def _parts(q, R, beta, alpha):
    """Spherical free entropy and its gradient (∂/∂q, ∂/∂R) at flat arrays of points."""
    G, Gq, GR = _energetic(q, R, beta)
    omq = 1.0 - q
    d = q - R * R
    S = 0.5 * np.log(omq) + d / (2.0 * omq)
    Sq = d / (2.0 * omq * omq)
    SR = -R / omq
    return S + alpha * G, Sq + alpha * Gq, SR + alpha * GR


def solve(alpha, tau, R0, q0=None, *, iters: int = 80, tol: float = 1e-11):
    """Solve the RS saddle point from a starting overlap ``R0`` (e.g. the annealed one).

    Args:
        alpha, tau: flat float64 arrays (tau > 0).
        R0: starting teacher–student overlap in (0, 1).
        q0: starting student–student overlap (default between R0² and R0).

    Returns:
        ``(q, R, f, converged)``.
    """
    alpha = np.asarray(alpha, np.float64)
    beta = 1.0 / np.asarray(tau, np.float64)
    R = np.clip(np.asarray(R0, np.float64), 1e-6, 1 - 1e-9)
    if q0 is None:
        wgt = 1.0 / (1.0 + np.asarray(tau, np.float64))
        q0 = R * R + wgt * (R - R * R)
    # unconstrained coordinates: R = sigmoid(x), q = R² + (1 − R²) sigmoid(y)
    x = special.logit(R)
    s = np.clip((q0 - R * R) / (1.0 - R * R), 1e-9, 1 - 1e-9)
    y = special.logit(s)

    def grad_xy(x, y):
        R = special.expit(x)
        s = special.expit(y)
        q = R * R + (1.0 - R * R) * s
        f, fq, fR = _parts(q, R, beta, alpha)
        # stationarity in (q, R) ⇔ (fq, fR) = 0; solve that system directly
        return f, np.stack([fq, fR], -1), q, R

    conv = np.zeros(alpha.shape, bool)
    for _ in range(iters):
        f, g, q, Rv = grad_xy(x, y)
        err = np.max(np.abs(g), -1)
        conv = err < tol
        if np.all(conv):
            break
        h = 1e-6
        _, gx, _, _ = grad_xy(x + h, y)
        _, gy, _, _ = grad_xy(x, y + h)
        J = np.stack([(gx - g) / h, (gy - g) / h], -1)  # (n, 2 eq, 2 var)
        det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
        det = np.where(np.abs(det) < 1e-300, 1e-300, det)
        dx = -(J[:, 1, 1] * g[:, 0] - J[:, 0, 1] * g[:, 1]) / det
        dy = -(-J[:, 1, 0] * g[:, 0] + J[:, 0, 0] * g[:, 1]) / det
        step = np.maximum(np.abs(dx), np.abs(dy))
        scale = np.minimum(1.0, 1.0 / np.maximum(step, 1e-300))
        # backtracking on the residual norm
        lam = scale
        for _ in range(12):
            _, gn, _, _ = grad_xy(x + lam * dx, y + lam * dy)
            better = np.max(np.abs(gn), -1) < err
            if np.all(better | conv):
                break
            lam = np.where(better | conv, lam, 0.5 * lam)
        x = np.where(conv, x, x + lam * dx)
        y = np.where(conv, y, y + lam * dy)
    f, g, q, Rv = grad_xy(x, y)
    conv = np.max(np.abs(g), -1) < tol * 100
    return q, Rv, f, conv


# ----------------------------------------------------------------------------- Ising weights

_ZX, _ZW = np.polynomial.legendre.leggauss(600)
_Z = 12.0 * _ZX
_WZ = 12.0 * _ZW * _phi(_Z)


def _ising_entropic(qh, Rh):
    """``E tanh²``, ``E tanh`` and ``E ln 2cosh`` of ``x = √q̂ z + R̂`` (flat arrays)."""
    x = np.sqrt(qh)[:, None] * _Z + Rh[:, None]
    th = np.tanh(x)
    ax = np.abs(x)
    lc = ax + np.log1p(np.exp(-2.0 * ax))
    return th * th @ _WZ, th @ _WZ, lc @ _WZ


def _ising_free_entropy(q, R, beta, alpha):
    """Ising RS free entropy at (q, R), the conjugates set by the energetic gradient."""
    G, Gq, GR = _energetic(q, R, beta)
    qh = np.maximum(-2.0 * alpha * Gq, 0.0)
    Rh = alpha * GR
    _, _, lc = _ising_entropic(qh, Rh)
    GS = -0.5 * qh * (1.0 - q) - Rh * R + lc
    return GS + alpha * G, qh, Rh


def solve_ising(alpha, tau, R0, q0=None, *, iters: int = 100, tol: float = 1e-11):
    """Replica-symmetric Gibbs learning of the Ising perceptron at τ > 0 (q ≠ R).

    Saddle point of ``−q̂(1−q)/2 − R̂R + ∫Dz ln 2cosh(√q̂ z + R̂) + α G_E(q, R)``:
    ``q̂ = −2α ∂G_E/∂q``, ``R̂ = α ∂G_E/∂R``, ``q = ∫Dz tanh²(√q̂ z + R̂)``,
    ``R = ∫Dz tanh(√q̂ z + R̂)``, solved in (q, R) by damped Newton from a starting overlap (the
    poor-generalization state; the perfect state R = q = 1 has f = 0 and is handled by the caller).

    Returns:
        ``(q, R, f, converged)``.
    """
    alpha = np.asarray(alpha, np.float64)
    beta = 1.0 / np.asarray(tau, np.float64)
    R = np.clip(np.asarray(R0, np.float64), 1e-6, 1 - 1e-9)
    if q0 is None:
        wgt = 1.0 / (1.0 + np.asarray(tau, np.float64))
        q0 = R * R + wgt * (R - R * R)
    x = special.logit(R)
    y = special.logit(np.clip((q0 - R * R) / (1.0 - R * R), 1e-9, 1 - 1e-9))

    def resid(x, y):
        R = special.expit(x)
        s = special.expit(y)
        q = R * R + (1.0 - R * R) * s
        _, Gq, GR = _energetic(q, R, beta)
        qh = np.maximum(-2.0 * alpha * Gq, 0.0)
        Rh = alpha * GR
        t2, t1, _ = _ising_entropic(qh, Rh)
        return np.stack([t2 - q, t1 - R], -1), q, R

    for _ in range(iters):
        g, q, Rv = resid(x, y)
        err = np.max(np.abs(g), -1)
        conv = err < tol
        if np.all(conv):
            break
        h = 1e-6
        gx, _, _ = resid(x + h, y)
        gy, _, _ = resid(x, y + h)
        J = np.stack([(gx - g) / h, (gy - g) / h], -1)
        det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
        det = np.where(np.abs(det) < 1e-300, 1e-300, det)
        dx = -(J[:, 1, 1] * g[:, 0] - J[:, 0, 1] * g[:, 1]) / det
        dy = -(-J[:, 1, 0] * g[:, 0] + J[:, 0, 0] * g[:, 1]) / det
        step = np.maximum(np.abs(dx), np.abs(dy))
        lam = np.minimum(1.0, 1.0 / np.maximum(step, 1e-300))
        for _ in range(12):
            gn, _, _ = resid(x + lam * dx, y + lam * dy)
            better = np.max(np.abs(gn), -1) < err
            if np.all(better | conv):
                break
            lam = np.where(better | conv, lam, 0.5 * lam)
        x = np.where(conv, x, x + lam * dx)
        y = np.where(conv, y, y + lam * dy)
    g, q, Rv = resid(x, y)
    conv = np.max(np.abs(g), -1) < tol * 100
    f, _, _ = _ising_free_entropy(q, Rv, beta, alpha)
    return q, Rv, f, conv


def ising_branch(tau, R_grid, alpha0):
    """The Ising RS saddle-point curve at τ > 0 parametrised by the overlap R.

    For each ``R`` (ascending) solve the two saddle-point equations for ``(q, α)``: the curve
    ``R ↦ α(R)`` holds the poor branch (α increasing with R), its fold (the spinodal, max α) and
    the unstable branch beyond it, like the τ = 0 curve. All τ rows are continued together, each
    solve started from the previous R's solution.

    Args:
        tau: temperatures (> 0), shape ``(m,)``.
        R_grid: ascending overlaps in (0, 1), shape ``(K,)``.
        alpha0: starting loads for the first R of each row (e.g. the annealed ones), ``(m,)``.

    Returns:
        ``(alpha, q, f, converged)`` of shape ``(m, K)``.
    """
    tau = np.asarray(tau, np.float64).ravel()
    beta = 1.0 / tau
    m, K = tau.size, len(R_grid)
    out_a = np.full((m, K), np.nan)
    out_q = np.full((m, K), np.nan)
    out_f = np.full((m, K), np.nan)
    conv_all = np.zeros((m, K), bool)
    la = np.log(np.asarray(alpha0, np.float64))
    R0 = R_grid[0]
    wgt = 1.0 / (1.0 + tau)
    y = special.logit(np.clip(wgt * (R0 - R0 * R0) / (1.0 - R0 * R0), 1e-9, 1 - 1e-9)) * np.ones(m)
    live = np.ones(m, bool)

    def resid(la, y, R, b):
        a = np.exp(la)
        s_ = special.expit(y)
        q = R * R + (1.0 - R * R) * s_
        _, Gq, GR = _energetic(q, np.full(q.shape, R), b)
        qh = np.maximum(-2.0 * a * Gq, 0.0)
        Rh = a * GR
        t2, t1, _ = _ising_entropic(qh, Rh)
        return np.stack([t2 - q, t1 - R], -1), q

    for k, R in enumerate(R_grid):
        idx = np.nonzero(live)[0]
        if idx.size == 0:
            break
        b = beta[idx]
        x1, x2 = la[idx].copy(), y[idx].copy()
        conv = np.zeros(idx.size, bool)
        for _ in range(60):
            g, q = resid(x1, x2, R, b)
            err = np.max(np.abs(g), -1)
            conv = err < 1e-11
            if np.all(conv):
                break
            h = 1e-6
            g1, _ = resid(x1 + h, x2, R, b)
            g2, _ = resid(x1, x2 + h, R, b)
            J = np.stack([(g1 - g) / h, (g2 - g) / h], -1)
            det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
            det = np.where(np.abs(det) < 1e-300, 1e-300, det)
            d1 = -(J[:, 1, 1] * g[:, 0] - J[:, 0, 1] * g[:, 1]) / det
            d2 = -(-J[:, 1, 0] * g[:, 0] + J[:, 0, 0] * g[:, 1]) / det
            lam = np.minimum(1.0, 0.5 / np.maximum(np.maximum(np.abs(d1), np.abs(d2)), 1e-300))
            for _ in range(12):
                gn, _ = resid(x1 + lam * d1, x2 + lam * d2, R, b)
                better = np.max(np.abs(gn), -1) < err
                if np.all(better | conv):
                    break
                lam = np.where(better | conv, lam, 0.5 * lam)
            x1 = np.where(conv, x1, x1 + lam * d1)
            x2 = np.where(conv, x2, x2 + lam * d2)
        g, q = resid(x1, x2, R, b)
        conv = np.max(np.abs(g), -1) < 1e-9
        a = np.exp(x1)
        f, _, _ = _ising_free_entropy(q, np.full(q.shape, R), b, a)
        good = idx[conv]
        out_a[good, k], out_q[good, k], out_f[good, k] = a[conv], q[conv], f[conv]
        conv_all[good, k] = True
        la[good], y[good] = x1[conv], x2[conv]
        live[idx[~conv]] = False
    return out_a, out_q, out_f, conv_all


def energy(q, R, beta, alpha):
    """Training errors per weight of an RS state, ``e = −∂f/∂β`` at fixed (q, R):
    ``e = 2α∫Dt H(−Rt/√(q−R²)) e^{−β} H(√(q/(1−q)) t) / [e^{−β} + (1−e^{−β}) H(−√(q/(1−q)) t)]``.
    """
    q, R, beta, alpha = (np.asarray(x, np.float64) for x in (q, R, beta, alpha))
    a = np.sqrt(q / (1.0 - q))
    b = R / np.sqrt(q - R * R)
    t, w = _nodes(a, b)
    w = w * _phi(t)
    at, bt = a[:, None] * t, b[:, None] * t
    # e^{−β} Φ(−at) / D in logs
    lnD = np.logaddexp(-beta[:, None], np.log(-np.expm1(-beta))[:, None] + special.log_ndtr(at))
    frac = np.exp(-beta[:, None] + special.log_ndtr(-at) - lnD)
    return 2.0 * alpha * np.sum(w * special.ndtr(bt) * frac, -1)


# ----------------------------------------------------------------------------- replicon


def _out_curvature_sq(q, R, beta):
    """``2∫Dt H(−Rt/√(q−R²)) [∂²_ω ln Z_out]²``, the energetic factor of the replicon.

    ``Z_out(ω) = e^{−β} + (1−e^{−β}) H(−ω/√(1−q))`` at the cavity field ``ω = √q t``, so with
    ``x = √(q/(1−q)) t`` and ``r = (1−e^{−β}) φ(x) / Z_out``:
    ``∂²_ω ln Z_out = −(x r + r²)/(1−q)``. ``beta = inf`` is the version space (τ = 0).
    """
    q, R, beta = (np.asarray(x, np.float64) for x in (q, R, beta))
    omq = 1.0 - q
    a = np.sqrt(q / omq)
    b = R / np.sqrt(q - R * R)
    t, w = _nodes(a, b)
    w = w * _phi(t)
    at = a[:, None] * t
    lc = np.log(-np.expm1(-beta))[:, None]
    lnD = np.logaddexp(-beta[:, None], lc + special.log_ndtr(at))
    r = np.exp(lc - 0.5 * at * at - _LOG_SQRT_2PI - lnD)
    d2 = (at * r + r * r) / omq[:, None]
    return 2.0 * np.sum(w * special.ndtr(b[:, None] * t) * d2 * d2, -1)


def replicon(q, R, beta, alpha, model: str):
    """The replicon (de Almeida–Thouless) factor ``λ_AT`` of a replica-symmetric saddle point.

    ``λ_AT = α · E_out · E_prior`` with ``E_out`` from :func:`_out_curvature_sq` and the prior's
    squared curvature ``E_prior = ∫Dz [1 − tanh²(√q̂ z + R̂)]²`` (Ising weights; ``q̂ = −2α ∂G_E/∂q``,
    ``R̂ = α ∂G_E/∂R``) or ``(1 − q)²`` (spherical weights). The RS state is locally stable against
    replica-symmetry breaking while ``λ_AT < 1``. On the Nishimori line (τ = 0, ``q = R``) it is the
    product of the derivatives of the two halves of the saddle-point map, so it reaches 1 exactly
    at the spinodal.

    Args:
        q, R: flat arrays of the overlaps; beta: inverse temperatures (``inf`` at τ = 0);
        alpha: loads; model: ``'ising'`` or ``'spherical'``.

    Returns:
        ``λ_AT`` at each point.
    """
    q, R, beta, alpha = (np.asarray(x, np.float64).ravel() for x in (q, R, beta, alpha))
    if q.size == 0:
        return np.zeros(0)
    e_out = _out_curvature_sq(q, R, beta)
    if model == "spherical":
        return alpha * e_out * (1.0 - q) ** 2
    _, Gq, GR = _energetic(q, R, beta)
    qh = np.maximum(-2.0 * alpha * Gq, 0.0)
    Rh = alpha * GR
    x = np.sqrt(qh)[:, None] * _Z + Rh[:, None]
    sech2 = 1.0 - np.tanh(x) ** 2
    return alpha * e_out * ((sech2 * sech2) @ _WZ)
