"""Tracy–Widom centring and scaling: hand-computed values, limits, errors."""

import math

import numpy as np
import pytest

import htrmt as ht

# 30-digit mpmath evaluations of the published formulas at N=100, M=50, divided by N:
# Johnstone μ(N−1, M), Johansson μ(N, M), Ma μ(N−½, M−½), El Karoui (weights γ, 1−γ).
HAND = {
    ("johnstone", 1): (2.8971247279470289, 0.10605812106200509),
    ("johnstone", 2): (2.914213562373095, 0.10629656961845692),
    ("ma", 1): (2.8936025078347502, 0.10606071115727823),
    ("el_karoui", 2): (2.9141695405788029, 0.10629666070980777),
}


@pytest.mark.parametrize("kind, beta", list(HAND))
def test_hand_computed_values(kind, beta):
    c, s = ht.edge.tw_scaling(100, 50, beta=beta, kind=kind)
    np.testing.assert_allclose([c, s], HAND[(kind, beta)], rtol=1e-14)
    # σ enters as σ² on both
    c2, s2 = ht.edge.tw_scaling(100, 50, beta=beta, kind=kind, sigma=0.5)
    np.testing.assert_allclose([c2, s2], [0.25 * c, 0.25 * s], rtol=1e-15)


def test_general_beta_uses_leading_order():
    N, M = 300, 100
    mu = (math.sqrt(N) + math.sqrt(M)) ** 2 / N
    sg = (math.sqrt(N) + math.sqrt(M)) * (N**-0.5 + M**-0.5) ** (1 / 3) / N
    for beta in (0.5, 4, 7.3):
        np.testing.assert_allclose(ht.edge.tw_scaling(N, M, beta=beta), (mu, sg), rtol=1e-15)


@pytest.mark.parametrize("kind, beta", list(HAND))
def test_limits_edge_and_leading_order_scale(kind, beta):
    # centre → λ+ = (1 + 1/√Q)², scale·M^{2/3} → Q^{−1/2}(1 + Q^{−1/2})^{4/3}; errors O(1/M)
    Q = 3.0
    lp = (1 + Q**-0.5) ** 2
    s0 = Q**-0.5 * (1 + Q**-0.5) ** (4 / 3)
    errs = []
    for M in (100, 10_000, 1_000_000):
        c, s = ht.edge.tw_scaling(int(Q * M), M, beta=beta, kind=kind)
        errs.append((abs(c - lp), abs(s * M ** (2 / 3) - s0)))
    errs = np.array(errs)
    assert errs[-1, 0] < 1e-5 and errs[-1, 1] < 1e-5
    assert np.all(errs[1:] <= errs[:-1] + 1e-14)  # both errors shrink as M grows (0 for Johansson)


def test_second_order_corrections_are_small():
    # Ma and El Karoui differ from Johnstone/Johansson by O(1/N) in centre, much less than the scale
    for N, M in ((200, 100), (4000, 2000)):
        cj, sj = ht.edge.tw_scaling(N, M, beta=1)
        cm, sm = ht.edge.tw_scaling(N, M, beta=1, kind="ma")
        assert 0 < cj - cm < 0.1 * sj
        c2, s2 = ht.edge.tw_scaling(N, M, beta=2)
        ce, se = ht.edge.tw_scaling(N, M, beta=2, kind="el_karoui")
        assert abs(c2 - ce) < 0.01 * s2 and abs(s2 - se) < 0.01 * s2


def test_wigner_scaling_and_standardize():
    s = ht.edge.wigner_tw_scaling(1000, sigma=2.0)
    assert tuple(s) == pytest.approx((4.0, 0.02), rel=1e-14)
    c, s = ht.edge.tw_scaling(100, 50, kind="ma")
    z = ht.edge.tw_standardize(np.array([c, c + 2 * s]), 100, 50, kind="ma")
    np.testing.assert_allclose(z, [0.0, 2.0], atol=1e-12)
    # unpacks as a pair and has names
    r = ht.edge.tw_scaling(100, 50)
    assert r.centre == r[0] and r.scale == r[1]


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((50, 100), {}, ValueError, "N must be >= M"),
        ((100.0, 50), {}, TypeError, "N"),
        ((100, 50.5), {}, TypeError, "M"),
        ((100, 0), {}, ValueError, "M"),
        ((100, 50), dict(kind="ma", beta=2), ValueError, "el_karoui"),
        ((100, 50), dict(kind="el_karoui", beta=1), ValueError, "ma"),
        ((100, 50), dict(kind="tw"), ValueError, "kind"),
        ((100, 50), dict(beta=0), ValueError, "beta"),
        ((100, 50), dict(beta="1"), TypeError, "beta"),
        ((100, 50), dict(sigma=-1.0), ValueError, "sigma"),
    ],
)
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ht.edge.tw_scaling(*args, **kwargs)
