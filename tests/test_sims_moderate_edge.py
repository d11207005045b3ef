"""``python -m sims.moderate_edge --quick``: its rows, and a resumed run equal to a whole one."""

import json

import pytest


def test_quick_rows_and_resume(tmp_path):
    from sims import moderate_edge

    out = tmp_path / "me"
    assert moderate_edge.main(["--quick", "--out", str(out)]) == 0
    first = json.loads((out / "moderate_edge.json").read_text())["rows"]
    assert [(r["mu"], r["N"], r["num"]) for r in first] == [(3.0, 200, 60), (3.0, 400, 60)]
    for r in first:
        for bulk in ("full", "truncated"):
            # µ = 3: each matrix's largest entry predicts its λ_max within a few percent
            assert abs(r[bulk]["cond_median"]) < 0.05
            assert 0 <= r[bulk]["ks"] <= 1
        assert r["outliers_observed"] >= 0 and r["outliers_predicted"] > 0
    # a killed run: one point missing is recomputed, the other read back; same numbers
    (out / "points" / "mu3_Q1_N400.npz").unlink()
    assert moderate_edge.main(["--quick", "--out", str(out)]) == 0
    again = json.loads((out / "moderate_edge.json").read_text())["rows"]
    assert again == first
    # points of another seed are refused, not mixed in
    with pytest.raises(ValueError, match="seed"):
        moderate_edge.main(["--quick", "--out", str(out), "--seed", "1"])
