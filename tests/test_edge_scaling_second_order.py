"""El Karoui's β = 2 centring against the plain (N, M) centring: the documented differences."""

import pytest

import htrmt as ht


@pytest.mark.parametrize(
    "M, diff", [(25, -1.044e-3), (50, -4.141e-4), (100, -1.643e-4), (200, -6.522e-5)]
)
def test_el_karoui_equivalent_to_n_m_centring_at_second_order(M, diff):
    # Q = 2: the centres differ by the stated amounts in TW units (they shrink like M^(-4/3)),
    # the scales by under 1e-5 relative.
    N = 2 * M
    c2, s2 = ht.edge.tw_scaling(N, M, beta=2)
    ce, se = ht.edge.tw_scaling(N, M, beta=2, kind="el_karoui")
    assert (ce - c2) / s2 == pytest.approx(diff, rel=2e-3)
    assert abs(se / s2 - 1) < 1e-5
