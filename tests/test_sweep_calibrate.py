"""End-to-end: ``python -m sims.calibrate --quick`` runs and its part (a) numbers are sane."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture
def standard_promotion():
    """Scripts run with JAX's default dtype promotion, as a user runs them (the test session's
    strict mode is for the library's own code paths)."""
    import jax

    old = jax.config.jax_numpy_dtype_promotion
    jax.config.update("jax_numpy_dtype_promotion", "standard")
    try:
        yield
    finally:
        jax.config.update("jax_numpy_dtype_promotion", old)


@pytest.mark.slow
def test_calibrate_quick_runs_and_pareto_numbers_are_sane(tmp_path, standard_promotion):
    from sims import calibrate

    out = tmp_path / "cal"
    assert calibrate.main(["--quick", "--out", str(out), "--no-progress"]) == 0
    for name in (
        "calibration.md",
        "a_pareto_summary.npz",
        "a_pareto_summary.json",
        "b_alpha_mu.npz",
        "b_alpha_mu.json",
        "fig_calibration.png",
    ):
        assert (out / name).exists(), name
    side = json.loads((out / "a_pareto_summary.json").read_text())
    assert side["seed"] == 0 and side["x64"] is True and "git_commit" in side and side["jax"]
    a = np.load(out / "a_pareto_summary.npz")
    trials = side["sizes"]["trials"]
    known = a["which"] == "known"
    assert np.all(a["num_ok"] == trials)
    # xmin known: the MLE's exact mean is α + (α-1)/(n-1) and its exact sd is known, so the
    # trial mean lies within 4 standard errors of it (false failure < 1e-3 over the 12 cells,
    # CLT); the empirical sd within 30% of the exact one (its relative standard error is
    # ~ 1/sqrt(2·trials) = 5% for Gaussian-like α̂, more for the skewed n = 100 case).
    se = a["exact_sd"][known] / np.sqrt(trials)
    assert np.all(np.abs(a["bias"][known] - a["exact_bias"][known]) <= 4 * se)
    assert np.all(np.abs(a["sd"][known] / a["exact_sd"][known] - 1) < 0.3)
    # the Wald interval α̂ ± 1.96 σ̂ covers α about 95% of the time: binomial band of 4 sd
    assert np.all(np.abs(a["coverage"][known] - 0.95) <= 4 * np.sqrt(0.05 * 0.95 / trials) + 0.01)
    # xmin fitted: the search widens the spread (never narrower than the oracle on average)
    fitted = ~known
    assert np.mean(a["sd"][fitted] / a["sd"][known]) > 1.0
    assert np.all(np.abs(a["bias"][fitted]) < 0.1 * a["alpha"][fitted])
    # part (b): µ < 2 follows µ/2 + 1 already at M = 250 (THEORY §3)
    b = json.loads((out / "b_alpha_mu.json").read_text())
    for f in b["fits"]:
        assert f["limit_max_abs_dev"] < 0.25, f
    # part (c): every generated matrix classified once
    if (out / "c_confusion.npz").exists():
        c = np.load(out / "c_confusion.npz")
        side_c = json.loads((out / "c_confusion.json").read_text())
        per_row = side_c["sizes"]["trials"] * len(side_c["sizes"]["M"]) * len(side_c["sizes"]["Q"])
        assert c["confusion"].shape == (6, 6)
        assert np.all(c["confusion"].sum(axis=1) == per_row)
