"""Replica-symmetric Gibbs learning of the spherical perceptron at temperature τ > 0.

Free entropy per weight, extremised over the student–student overlap ``q`` and the
teacher–student overlap ``R`` (``q ≠ R`` away from τ = 0):

    f(q, R) = ½ ln(1−q) + (q−R²)/(2(1−q))
              + α · 2∫Dt H(−R t/√(q−R²)) ln[e^{−1/τ} + (1−e^{−1/τ}) H(−√(q/(1−q)) t)]

(Engel & Van den Broeck 2001, ch. 4; Seung, Sompolinsky & Tishby 1992). The saddle point solves
``∂f/∂q = ∂f/∂R = 0`` (analytic gradients below; a damped Newton iteration with a finite-difference
Jacobian, vectorised over points). Limits used to validate it: τ → 0 gives ``q = R`` and the
version-space theory; τ → ∞ with α/τ fixed gives the high-temperature closed form.
The de Almeida–Thouless stability of this solution is not computed.
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


def _parts(q, R, beta, alpha):
    """Free entropy and its gradient (∂/∂q, ∂/∂R) at flat arrays of points."""
    omq = 1.0 - q
    d = q - R * R
    a = np.sqrt(q / omq)
    b = R / np.sqrt(d)
    t, w = _nodes(a, b)
    w = w * _phi(t)
    eb = np.exp(-beta)[:, None]
    cb = -np.expm1(-beta)[:, None]
    at, bt = a[:, None] * t, b[:, None] * t
    Phia = special.ndtr(at)
    D = eb + cb * Phia
    # ln D without underflow when Φ(a t) is tiny and β large
    lnD = np.logaddexp(-beta[:, None], np.log(cb) + special.log_ndtr(at))
    Phib = special.ndtr(bt)
    G = 2.0 * np.sum(w * Phib * lnD, -1)
    db_dq = -R / (2.0 * d**1.5)
    db_dR = q / d**1.5
    da_dq = 1.0 / (2.0 * np.sqrt(q) * omq**1.5)
    tphib = t * _phi(bt)
    ratio = cb * _phi(at) / D
    Gq = 2.0 * np.sum(w * (tphib * lnD * db_dq[:, None] + Phib * ratio * t * da_dq[:, None]), -1)
    GR = 2.0 * np.sum(w * tphib * lnD, -1) * db_dR
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
        dR_dx = R * (1.0 - R)
        dq_dy = (1.0 - R * R) * s * (1.0 - s)
        dq_dx = 2.0 * R * (1.0 - s) * dR_dx
        gx = fR * dR_dx + fq * dq_dx
        gy = fq * dq_dy
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
