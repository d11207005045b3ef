"""High-precision Tracy–Widom reference values (mpmath) for tests/data/tracy_widom_reference.json.

Each value is a Gauss–Legendre Nyström discretisation (Bornemann, Math. Comp. 79 (2010)) of the
Ferrari–Spohn operator ``B_t(x, y) = Ai(x + y + t)`` on ``L²(0, ∞)``, truncated at ``[0, L]``
where ``Ai(t + L)`` is below ``e^{-75}`` of its value at ``max(t, 0)``, with the determinants taken
by LU in ``mp.dps`` digits:

    F1(s) = det(I − B_s),  F2(s) = det(I − B_s)·det(I + B_s),
    F4(s) = ½[det(I − B_t) + det(I + B_t)],  t = √2·s   (Tracy–Widom convention, mean −2.3069).

``1 − F`` is formed in the same working precision, so it keeps its relative accuracy in the right
tail.  Every value is computed at two node counts and the script records the difference (an
estimate of the discretisation error) next to the value.

Usage: ``python tools/make_tracy_widom_reference.py [--dps 40] [--m 72] [--out ...] [--quick]``
(the full table takes about 35 minutes on one busy CPU core).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import mpmath as mp

_GL: dict[tuple[int, int], tuple[list, list]] = {}


def gauss_legendre(m: int) -> tuple[list, list]:
    """Gauss–Legendre nodes/weights on [−1, 1] at the current precision (Newton on P_m)."""
    key = (m, mp.mp.prec)
    if key in _GL:
        return _GL[key]
    xs, ws = [], []
    for i in range(1, m + 1):
        x = mp.cos(mp.pi * (i - mp.mpf(1) / 4) / (m + mp.mpf(1) / 2))
        for _ in range(100):
            p0, p1 = mp.mpf(1), x
            for k in range(2, m + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = m * (x * p1 - p0) / (x * x - 1)
            dx = p1 / dp
            x -= dx
            if abs(dx) < mp.mpf(2) ** (-mp.mp.prec + 4):
                break
        p0, p1 = mp.mpf(1), x
        for k in range(2, m + 1):
            p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
        dp = m * (x * p1 - p0) / (x * x - 1)
        xs.append(x)
        ws.append(2 / ((1 - x * x) * dp * dp))
    _GL[key] = (xs, ws)
    return xs, ws


def _trunc(t) -> mp.mpf:
    """L with (2/3)[(t + L)^{3/2} − t₊^{3/2}] = 75, i.e. Ai(t + L) < e^{-75}·Ai(t₊)."""
    t = mp.mpf(t)
    return (mp.mpf(75) * 1.5 + max(t, 0) ** 1.5) ** (mp.mpf(2) / 3) - t


def dets(t, m: int):
    """(det(I − B_t), det(I + B_t), 1 − det(I − B_t), 1 − det(I + B_t)) in working precision."""
    xs, ws = gauss_legendre(m)
    L = _trunc(t)
    u = [L * (x + 1) / 2 for x in xs]
    sw = [mp.sqrt(L * w / 2) for w in ws]
    A = mp.matrix(m, m)
    for i in range(m):
        for j in range(i, m):
            v = sw[i] * sw[j] * mp.airyai(t + u[i] + u[j])
            A[i, j] = v
            A[j, i] = v
    Im = mp.eye(m)
    dm = mp.det(Im - A)
    dp = mp.det(Im + A)
    return dm, dp


def tw_cdf_sf(s, beta: int, m: int):
    """(F_β(s), 1 − F_β(s)) as mpf at the working precision."""
    s = mp.mpf(s)
    if beta == 1:
        dm, _ = dets(s, m)
        return dm, 1 - dm
    if beta == 2:
        dm, dp = dets(s, m)
        return dm * dp, 1 - dm * dp
    if beta == 4:
        dm, dp = dets(mp.sqrt(2) * s, m)
        F = (dm + dp) / 2
        return F, 1 - F
    raise ValueError(f"beta must be 1, 2 or 4, got beta={beta!r}")


POINTS = [
    -8.0,
    -7.0,
    -6.0,
    -5.0,
    -4.5,
    -4.0,
    -3.5,
    -3.0,
    -2.0,
    -1.0,
    0.0,
    1.0,
    2.0,
    3.0,
    4.0,
    5.0,
    6.0,
    8.0,
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dps", type=int, default=40)
    ap.add_argument("--m", type=int, default=72, help="nodes; the check uses m - 16")
    ap.add_argument("--out", default="tests/data/tracy_widom_reference.json")
    ap.add_argument("--quick", action="store_true", help="three points only")
    args = ap.parse_args(argv)
    mp.mp.dps = args.dps
    pts = [-6.0, 0.0, 4.0] if args.quick else POINTS
    rows = []
    t0 = time.time()
    m2 = args.m - 16
    for s in pts:
        for which in ("s", "t"):
            t = mp.mpf(s) if which == "s" else mp.sqrt(2) * mp.mpf(s)
            hi = dets(t, args.m)
            lo = dets(t, m2)
            if which == "s":
                cases = [(1, lambda d: d[0]), (2, lambda d: d[0] * d[1])]
            else:
                cases = [(4, lambda d: (d[0] + d[1]) / 2)]
            for beta, f in cases:
                F, Fl = f(hi), f(lo)
                S, Sl = 1 - F, 1 - Fl
                rows.append(
                    {
                        "beta": beta,
                        "s": s,
                        "cdf": mp.nstr(F, 25),
                        "sf": mp.nstr(S, 25),
                        "abs_diff_m": float(abs(F - Fl)),
                        "rel_diff_sf_m": float(abs(S - Sl) / abs(S)),
                    }
                )
                print(
                    f"beta={beta} s={s:+.2f} F={mp.nstr(F, 20)} 1-F={mp.nstr(S, 20)} "
                    f"|dF|={rows[-1]['abs_diff_m']:.1e} ({time.time() - t0:.0f}s)",
                    flush=True,
                )
    rows.sort(key=lambda r: (r["beta"], r["s"]))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    meta = {
        "method": "Gauss-Legendre Nystrom, Ferrari-Spohn B_t(x,y)=Ai(x+y+t) on (0,inf), LU det",
        "dps": args.dps,
        "nodes": [args.m, args.m - 16],
        "convention": "Tracy-Widom (beta=4 mean -2.30688)",
        "mpmath": mp.__version__,
        "python": platform.python_version(),
        "git_commit": commit,
        "script": "tools/make_tracy_widom_reference.py",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "values": rows}, indent=1) + "\n")
    print(f"wrote {out} ({len(rows)} values)")


if __name__ == "__main__":
    main()
