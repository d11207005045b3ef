"""Build the shipped Tracy–Widom interpolation tables from Fredholm determinants.

Method (Bornemann, Math. Comp. 79 (2010) 871–915): Gauss–Legendre Nyström discretisation of
the Ferrari–Spohn operator ``B_t(x, y) = Ai(x + y + t)`` on ``L²(0, ∞)`` (truncated where the
Airy function is below the float64 resolution).  With ``μ_i(t)`` the eigenvalues of the
symmetrised discretisation ``W^½ B_t W^½``,

    F1(s) = det(I − B_s)                = Π (1 − μ_i(s))
    F2(s) = det(I − B_s²)               = Π (1 − μ_i(s)²)          (K_Ai = B_s², on (s, ∞))
    F4(s) = ½[det(I − B_t) + det(I + B_t)],  t = √2·s              (Tracy–Widom convention)

``B_s`` on ``(0, ∞)`` is the kernel ``½·Ai((x + y)/2)`` on ``(s, ∞)`` after ``x ↦ s + 2x``.
Right tails keep relative accuracy: ``1 − F1 = −expm1(Σ log1p(−μ))``, ``1 − F2 =
−expm1(Σ log1p(−μ²))`` and ``1 − F4 = −Σ_{k≥2 even} e_k(μ)`` (elementary symmetric functions,
no first-order cancellation).

The tables hold, for each β, piecewise Chebyshev coefficients of ``log F`` on the left of a
split point and of ``log(1 − F)`` on the right, plus the derivative series (for the pdf) and
fitted correction coefficients of the tail asymptotics beyond the table (checked against the
determinant where both are computable).

Usage: ``python tools/make_tracy_widom_tables.py [--out htrmt/data/tracy_widom.npz] [--check]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy.special import airy, roots_legendre

# ---------------------------------------------------------------------------------------------
# Fredholm determinants in float64
# ---------------------------------------------------------------------------------------------

_NODES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _gl(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [−1, 1], Newton-polished in mpmath (30 digits).

    scipy's ``roots_legendre`` (and numpy's ``leggauss``) lose several digits in the weights
    beyond ~60 nodes; the polish makes them correctly rounded.
    """
    if m not in _NODES:
        import mpmath as mp

        x0, _ = roots_legendre(m)
        xs, ws = [], []
        with mp.workdps(30):
            for xi in x0[: (m + 1) // 2]:
                x = mp.mpf(float(xi))
                for _ in range(4):
                    p0, p1 = mp.mpf(1), x
                    for k in range(2, m + 1):
                        p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                    dp = m * (x * p1 - p0) / (x * x - 1)
                    x = x - p1 / dp
                p0, p1 = mp.mpf(1), x
                for k in range(2, m + 1):
                    p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                dp = m * (x * p1 - p0) / (x * x - 1)
                xs.append(float(x))
                ws.append(float(2 / ((1 - x * x) * dp * dp)))
        xs = np.array(xs)
        ws = np.array(ws)
        k = m // 2
        x = np.concatenate([xs, -xs[:k][::-1]])
        w = np.concatenate([ws, ws[:k][::-1]])
        _NODES[m] = (x, w)
    return _NODES[m]


def _trunc(t: float) -> float:
    """Length L of [0, L] with Ai(t + L) < e^{-45}·Ai(t₊): (2/3)[(t + L)^{3/2} − t₊^{3/2}] = 45.

    (The discarded kernel B_t(x, y) with x > L is at most Ai(t + L), one variable at the cut.)
    """
    return (45.0 * 1.5 + max(t, 0.0) ** 1.5) ** (2.0 / 3.0) - t


def eig_B(t: float, m: int = 96) -> np.ndarray:
    """Eigenvalues of the Nyström discretisation of B_t(x, y) = Ai(x + y + t) on (0, ∞)."""
    x, w = _gl(m)
    L = _trunc(t)
    u = 0.5 * L * (x + 1.0)
    wu = 0.5 * L * w
    sw = np.sqrt(wu)
    A = airy(t + u[:, None] + u[None, :])[0]
    A = sw[:, None] * A * sw[None, :]
    return np.linalg.eigvalsh(A)


def _esym_even_tail(mu: np.ndarray) -> float:
    """Σ_{k≥2 even} e_k(μ) by the stable product recursion (largest |μ| first)."""
    mu = mu[np.argsort(-np.abs(mu))]
    e = np.zeros(len(mu) + 1)
    e[0] = 1.0
    for i, v in enumerate(mu):
        e[1 : i + 2] = e[1 : i + 2] + v * e[0 : i + 1]
    return float(np.sum(e[2::2]))


def log_cdf_sf(s: float, beta: int, m: int = 96) -> tuple[float, float]:
    """(log F_β(s), log(1 − F_β(s))) from the determinant, each accurate where it is not tiny."""
    if beta == 1:
        mu = eig_B(s, m)
        a = float(np.sum(np.log1p(-mu)))
        return a, math.log(-math.expm1(a)) if a < 0 else -math.inf
    if beta == 2:
        mu = eig_B(s, m)
        a = float(np.sum(np.log1p(-(mu**2))))
        return a, math.log(-math.expm1(a)) if a < 0 else -math.inf
    if beta == 4:
        mu = eig_B(math.sqrt(2.0) * s, m)
        lm = float(np.sum(np.log1p(-mu)))
        lp = float(np.sum(np.log1p(mu)))
        # F4 = ½(e^lm + e^lp) ; log via log-sum-exp
        hi = max(lm, lp)
        logF = hi + math.log(0.5 * (math.exp(lm - hi) + math.exp(lp - hi)))
        tail = _esym_even_tail(mu)  # F4 = 1 + tail, so 1 − F4 = −tail
        if logF > -0.5:  # right side: relative accuracy from the e_k sum
            logsf = math.log(-tail) if tail < 0 else -math.inf
        else:
            logsf = math.log(-math.expm1(logF))
        return logF, logsf
    raise ValueError(f"beta must be 1, 2 or 4, got beta={beta!r}")


# ---------------------------------------------------------------------------------------------
# Left-tail asymptotics (Deift–Its–Krasovsky, Baik–Buckingham–DiFranco) with the series of the
# Hastings–McLeod solution q(x) ~ √(−x/2)·Σ a_n x^{−3n}, a = 1, 1/8, −73/128, 10657/1024, ...
#   log F2(x) = x³/12 − (1/8) log|x| + (1/24) log 2 + ζ'(−1) + Σ_n d_n x^{−3n}
#   ∫_x^∞ q   = (√2/3)|x|^{3/2} + (1/2) log 2 + Σ_n e_n |x|^{3/2 − 3n}
#   log F1(x) = ½ log F2(x) − ½ ∫_x^∞ q,  log F4(x/√2) = ½ log F2(x) + log cosh(½ ∫_x^∞ q).
# The same numbers live in htrmt/laws/_tracy_widom.py; check_asymptotics() compares them with
# the determinant.
# ---------------------------------------------------------------------------------------------

ZETA1 = -0.16542114370045092  # ζ'(−1)
D_LOGF2 = (
    -0.046875,
    0.24609375,
    -4.701171875,
    196.3692626953125,
    -14405.56534423828,
    1641033.9159545898,
    -268240558.6578271,
)
E_INTQ = (
    0.05892556509887896,
    0.08961596358787842,
    0.9812027300918017,
    28.591963728973788,
    1607.6262005658346,
    148341.08396650138,
    20367873.80653418,
)


def left_asym(s: float, beta: int) -> float:
    """log F_β(s) from the left-tail series (accurate for s ≲ −5)."""

    def l2(x):
        v = x**3 / 12 - math.log(-x) / 8 + math.log(2) / 24 + ZETA1
        return v + sum(c * x ** (-3 * (k + 1)) for k, c in enumerate(D_LOGF2))

    def iq(x):
        y = -x
        return (
            math.sqrt(2) / 3 * y**1.5
            + 0.5 * math.log(2)
            + sum(c * y ** (1.5 - 3 * (k + 1)) for k, c in enumerate(E_INTQ))
        )

    if beta == 1:
        return 0.5 * l2(s) - 0.5 * iq(s)
    if beta == 2:
        return l2(s)
    t = math.sqrt(2) * s
    z = 0.5 * iq(t)
    return 0.5 * l2(t) + z + math.log1p(math.exp(-2 * z)) - math.log(2)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

DEG = 24  # Chebyshev degree per piece
H = 0.5  # piece width in s
SPLIT = {1: -1.5, 2: -2.0, 4: -2.5}  # log F on the left of the split, log(1 − F) on the right
LEFT = {1: -7.0, 2: -7.0, 4: -5.5}  # below: left asymptotics
RIGHT = 24.0  # above: fitted right-tail asymptotics
# Right tail: log(1 − F) = −c s^{3/2} − a log s + Σ_k r_k s^{−3k/2}; (c, a) known, r_k fitted.
RIGHT_CA = {1: (2.0 / 3.0, 0.75), 2: (4.0 / 3.0, 1.5), 4: (4.0 / 3.0 * 2**0.75, 3.0)}
R_FIT = (14.0, 24.0)
R_TERMS = 6


def cheb_nodes(n: int) -> np.ndarray:
    k = np.arange(n + 1)
    return np.cos(np.pi * (k + 0.5) / (n + 1))


def cheb_coef(vals: np.ndarray) -> np.ndarray:
    """Coefficients c_j with f(x) = Σ c_j T_j(x) from values at cheb_nodes (DCT-II)."""
    n = len(vals) - 1
    k = np.arange(n + 1)
    j = k[:, None]
    T = np.cos(np.pi * j * (k[None, :] + 0.5) / (n + 1))
    c = 2.0 / (n + 1) * T @ vals
    c[0] *= 0.5
    return c


def build_side(beta: int, a: float, b: float, which: int, m: int = 96):
    """Piecewise Chebyshev coefficients of log F (which=0) or log(1 − F) (which=1) on [a, b]."""
    P = int(round((b - a) / H))
    x = cheb_nodes(DEG)
    coefs = np.zeros((P, DEG + 1))
    for p in range(P):
        lo = a + p * H
        ss = lo + 0.5 * H * (x + 1.0)
        vals = np.array([log_cdf_sf(float(s), beta, m)[which] for s in ss])
        coefs[p] = cheb_coef(vals)
    return coefs


# Known constants: 1 − F ~ C_β x^{−3β/4} e^{−(2β/3) x^{3/2}} in the β-ensemble variable with
# C_1 = 1/(4√π), C_2 = 1/(16π), C_4 = 1/(512π); in the Tracy–Widom variable of β = 4 the
# constant gains 3·log(2^{1/6}) = ½ log 2.  (The unconstrained fit reproduces all three to 1e-8.)
R0 = {
    1: -math.log(4 * math.sqrt(math.pi)),
    2: -math.log(16 * math.pi),
    4: -math.log(512 * math.pi) + 0.5 * math.log(2),
}


def fit_right(beta: int, m: int = 96, fix_r0: bool = True) -> np.ndarray:
    """Least-squares r_k of the right-tail form on [R_FIT], from the determinant (r_0 known)."""
    c, a = RIGHT_CA[beta]
    ss = np.linspace(*R_FIT, 61)
    y = np.array([log_cdf_sf(float(s), beta, m)[1] for s in ss]) + c * ss**1.5 + a * np.log(ss)
    V = np.stack([ss ** (-1.5 * k) for k in range(R_TERMS)], axis=1)
    if not fix_r0:
        r, *_ = np.linalg.lstsq(V, y, rcond=None)
        return r
    r, *_ = np.linalg.lstsq(V[:, 1:], y - R0[beta], rcond=None)
    return np.concatenate([[R0[beta]], r])


def build(beta: int, m: int = 96) -> dict[str, np.ndarray]:
    left = build_side(beta, LEFT[beta], SPLIT[beta], 0, m)
    right = build_side(beta, SPLIT[beta], RIGHT, 1, m)
    r = fit_right(beta, m)
    return {
        f"b{beta}_left": left,
        f"b{beta}_right": right,
        f"b{beta}_edges": np.array([LEFT[beta], SPLIT[beta], RIGHT, H]),
        f"b{beta}_rtail": np.concatenate([np.array(RIGHT_CA[beta]), r]),
    }


def check_asymptotics(path: str) -> None:
    """Print the tail formulas against the determinant where both are computable."""
    z = np.load(path)
    print("left tail: log F from the series minus log F from the determinant (96 and 128 nodes)")
    for beta in (1, 2, 4):
        for s in (-4.0, -5.0, -5.5, -6.0, -6.5, -7.0):
            d96, d128 = log_cdf_sf(s, beta, 96)[0], log_cdf_sf(s, beta, 128)[0]
            print(
                f"  beta={beta} s={s:+.1f}  series-det {left_asym(s, beta) - d128:+.2e}   "
                f"det(96)-det(128) {d96 - d128:+.2e}"
            )
    print("right tail: fitted constant r_0 against the known one; fitted form against the det")
    for beta in (1, 2, 4):
        rt = z[f"b{beta}_rtail"]
        c, a, r = rt[0], rt[1], rt[2:]
        free = fit_right(beta, fix_r0=False)[0]
        print(f"  beta={beta} r_0 free fit {free:.10f}  known {R0[beta]:.10f}")
        for s in (16.0, 20.0, 24.0, 28.0):
            form = (
                -c * s**1.5 - a * math.log(s) + sum(rk * s ** (-1.5 * k) for k, rk in enumerate(r))
            )
            det = log_cdf_sf(s, beta)[1]
            print(f"    s={s:4.1f}  log(1-F): fitted-det {form - det:+.2e}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "htrmt/data/tracy_widom.npz")
    )
    ap.add_argument("--m", type=int, default=96, help="Gauss–Legendre nodes")
    ap.add_argument("--refit-tail", action="store_true", help="refit only the right-tail series")
    ap.add_argument(
        "--check", action="store_true", help="only compare tail formulas and determinants"
    )
    args = ap.parse_args(argv)
    if args.check:
        check_asymptotics(args.out)
        return
    if args.refit_tail:  # refit only the right-tail coefficients of an existing table file
        data = dict(np.load(args.out))
        for beta in (1, 2, 4):
            data[f"b{beta}_rtail"] = np.concatenate([np.array(RIGHT_CA[beta]), fit_right(beta)])
            print(f"b{beta}_rtail", data[f"b{beta}_rtail"])
        np.savez(args.out, **data)
        print("wrote", args.out)
        return
    data = {}
    for beta in (1, 2, 4):
        d = build(beta, args.m)
        for k, v in d.items():
            print(
                k, v.shape, "max |last 2 coefs|:", np.max(np.abs(v[..., -2:])) if v.ndim == 2 else v
            )
        data.update(d)
    data["meta_deg"] = np.array(DEG)
    data["meta_nodes"] = np.array(args.m)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **data)
    print("wrote", out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
