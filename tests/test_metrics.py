"""Spectral metrics against hand-computed values, jit/vmap/dtype behaviour, rand distance."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

import htrmt as ht
from htrmt import metrics as mt

# A small explicit spectrum: Σλ = 15, λ_max = 8, rank 4 (one exact zero).
LAM = [0.0, 1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_hand_computed(dtype):
    lam = jnp.asarray(LAM, dtype)
    rtol = 1e-6 if dtype == jnp.float32 else 1e-13
    checks = {
        "stable_rank": (mt.stable_rank(lam), 15 / 8),
        "log_norm": (mt.log_norm(lam), math.log10(15)),
        "log_spectral_norm": (mt.log_spectral_norm(lam), math.log10(8)),
        "log_alpha_norm": (mt.log_alpha_norm(lam, alpha=2.0), math.log10(1 + 4 + 16 + 64)),
        "alpha_weighted": (mt.alpha_weighted(lam, alpha=2.5), 2.5 * math.log10(8)),
        "mp_softrank": (mt.mp_softrank(lam, lambda_plus=2.0), 0.25),
    }
    p = np.array([1, 2, 4, 8]) / 15
    checks["entropy"] = (mt.entropy(lam), -np.sum(p * np.log(p)) / math.log(4))
    for name, (got, want) in checks.items():
        assert got.dtype == dtype, name
        np.testing.assert_allclose(float(got), want, rtol=rtol, err_msg=name)
    assert int(mt.hard_rank(lam)) == 4


def test_hard_rank_tolerance_and_entropy_limits():
    lam = jnp.asarray(LAM, jnp.float64)
    assert int(mt.hard_rank(lam, rtol=0.2)) == 3  # rtol·λ_max = 1.6: 2, 4 and 8 count
    assert int(mt.hard_rank(lam, rtol=0.0)) == 4
    assert float(mt.entropy(jnp.full((7,), 3.0))) == pytest.approx(1.0, rel=1e-14)
    assert float(mt.entropy(jnp.array([0.0, 0.0, 5.0]))) == 0.0  # rank 1
    assert float(mt.stable_rank(jnp.full((7,), 3.0))) == pytest.approx(7.0)


def test_hard_rank_matches_numpy_matrix_rank(key):
    ka, kb = jax.random.split(key)
    W = jax.random.normal(ka, (300, 7), jnp.float64) @ jax.random.normal(kb, (7, 120), jnp.float64)
    assert int(mt.hard_rank(ht.esd(W))) == np.linalg.matrix_rank(np.asarray(W)) == 7


def test_jit_vmap_batch(key):
    lam = ht.esd(ht.ensembles.pareto(key, (3, 200, 100), mu=3.0, dtype=jnp.float64))
    for f in (
        mt.stable_rank,
        mt.log_norm,
        mt.log_spectral_norm,
        mt.hard_rank,
        mt.entropy,
    ):
        batched = f(lam)
        jitted = jax.jit(f)(lam)
        looped = jnp.stack([f(lam[i]) for i in range(3)])
        vmapped = jax.vmap(f)(lam)
        np.testing.assert_allclose(np.asarray(batched), np.asarray(looped), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(jitted), np.asarray(looped), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(vmapped), np.asarray(looped), rtol=1e-12)
    a = jnp.array([2.0, 3.0, 4.0])
    np.testing.assert_allclose(
        np.asarray(mt.log_alpha_norm(lam, alpha=a)),
        [float(mt.log_alpha_norm(lam[i], alpha=float(a[i]))) for i in range(3)],
        rtol=1e-12,
    )


def test_alpha_is_the_powerlaw_fit(key):
    lam = ht.esd(ht.ensembles.pareto(key, (800, 400), mu=2.0, dtype=jnp.float64))
    fit = ht.fit.powerlaw(lam)
    assert float(mt.alpha(lam)) == float(fit.alpha)
    assert float(mt.alpha_weighted(lam)) == pytest.approx(
        float(fit.alpha) * math.log10(float(lam[-1])), rel=1e-12
    )
    assert float(mt.log_alpha_norm(lam)) == pytest.approx(
        math.log10(float(jnp.sum(lam**fit.alpha))), rel=1e-12
    )
    mp = ht.fit.marchenko_pastur(lam, 2.0)
    assert float(mt.mp_softrank(lam, 2.0)) == pytest.approx(mp.lambda_plus / float(lam[-1]))
    s = mt.summary(lam, 2.0)
    assert s.alpha_ok and s.alpha == float(fit.alpha)
    assert s.stable_rank == pytest.approx(float(mt.stable_rank(lam)))
    assert s.hard_rank == int(mt.hard_rank(lam)) and s.num_spikes == mp.num_spikes
    assert mt.all is mt.summary


def test_scale_conventions(key):
    # normalization="none" multiplies every eigenvalue by N: ranks and entropy are unchanged,
    # the log norms shift by log10 N.
    W = ht.ensembles.gaussian(key, (300, 100), dtype=jnp.float64)
    a, b = ht.esd(W), ht.esd(W, normalization="none")
    assert float(mt.stable_rank(a)) == pytest.approx(float(mt.stable_rank(b)), rel=1e-10)
    assert float(mt.entropy(a)) == pytest.approx(float(mt.entropy(b)), rel=1e-10)
    assert float(mt.log_spectral_norm(b) - mt.log_spectral_norm(a)) == pytest.approx(
        math.log10(300), rel=1e-10
    )


def test_permute_entries(key):
    W = ht.ensembles.gaussian(key, (2, 30, 20), dtype=jnp.float64)
    P = mt.permute_entries(jax.random.key(1), W)
    for i in range(2):
        np.testing.assert_array_equal(np.sort(np.ravel(W[i])), np.sort(np.ravel(P[i])))
    assert not np.array_equal(np.asarray(W), np.asarray(P))
    np.testing.assert_array_equal(
        np.asarray(P), np.asarray(mt.permute_entries(jax.random.key(1), W))
    )


def test_rand_distance_against_scipy(key):
    W = ht.ensembles.phase_example(key, "bulk-decay", (400, 200), dtype=jnp.float64)
    k = jax.random.key(3)
    lam = np.asarray(ht.esd(W))
    lamr = np.asarray(ht.esd(mt.permute_entries(k, W)))
    d_ks = float(mt.rand_distance(k, W, distance="ks"))
    assert d_ks == pytest.approx(stats.ks_2samp(lam, lamr).statistic, abs=1e-12)
    # JSD: common log-spaced bins from the smallest eigenvalue above M·eps·λ_max to the largest.
    top = max(lam.max(), lamr.max())
    tol = 200 * np.finfo(np.float64).eps * top
    lo = min(lam[lam > tol].min(), lamr[lamr > tol].min())
    edges = np.geomspace(lo, top, 51)
    p = np.histogram(np.clip(lam, lo, top), edges)[0] / 200
    q = np.histogram(np.clip(lamr, lo, top), edges)[0] / 200
    d_js = float(mt.rand_distance(k, W, bins=50))
    assert d_js == pytest.approx(jensenshannon(p, q, base=2), abs=1e-6)


def test_rand_distance_orders_phases(key):
    # A random-like matrix is (in law) invariant under permuting its entries; rank collapse is
    # destroyed by it. KS between two independent MP ESDs of M = 300 is O(1/M) (rigidity), far
    # below the rank-collapse distance (0.95: 95% of one ESD is at 0).
    d = {
        p: float(
            mt.rand_distance(
                jax.random.key(5),
                ht.ensembles.phase_example(
                    jax.random.fold_in(key, i), p, (600, 300), dtype=jnp.float64
                ),
                distance="ks",
            )
        )
        for i, p in enumerate(("random-like", "rank-collapse", "bulk-decay"))
    }
    assert d["random-like"] < 0.05
    assert d["rank-collapse"] > 0.9
    assert d["random-like"] < d["bulk-decay"] < d["rank-collapse"]
    dj = float(mt.rand_distance(jax.random.key(5), ht.ensembles.gaussian(key, (600, 300))))
    assert 0.0 <= dj <= 1.0


def test_bad_input(key):
    with pytest.raises(ValueError, match="NaN"):
        mt.stable_rank(jnp.array([1.0, jnp.nan]))
    with pytest.raises(ValueError, match="negative"):
        mt.log_norm(jnp.array([-1.0, 2.0]))
    with pytest.raises(ValueError, match="no positive"):
        mt.log_spectral_norm(jnp.zeros(4))
    with pytest.raises(ValueError, match="non-empty"):
        mt.stable_rank(jnp.zeros((0,)))
    with pytest.raises(TypeError, match="integer"):
        mt.hard_rank(np.arange(1, 5))
    with pytest.raises(ValueError, match="rtol"):
        mt.hard_rank(jnp.array([1.0, 2.0]), rtol=1.5)
    with pytest.raises(ValueError, match="needs Q"):
        mt.mp_softrank(jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="lambda_plus"):
        mt.mp_softrank(jnp.array([1.0, 2.0]), lambda_plus=-1.0)
    with pytest.raises(ValueError, match="1-D"):
        mt.alpha(jnp.ones((3, 10)))
    with pytest.raises(ValueError, match="distance"):
        mt.rand_distance(key, jnp.ones((4, 3)), distance="l2")
    with pytest.raises(TypeError, match="key"):
        mt.rand_distance(0, jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="bins"):
        mt.rand_distance(key, jnp.ones((4, 3)), bins=1)


def test_layer_metrics_bundle_equals_the_functions():
    from htrmt.metrics._spectral import layer_metrics

    lam = np.sort(np.random.default_rng(0).pareto(2.0, 300) + 0.01)
    out = layer_metrics(lam, 2.5, 0.8)
    m = ht.metrics
    ref = {
        "log_norm": m.log_norm(lam),
        "log_spectral_norm": m.log_spectral_norm(lam),
        "stable_rank": m.stable_rank(lam),
        "entropy": m.entropy(lam),
        "log_alpha_norm": m.log_alpha_norm(lam, alpha=2.5),
        "alpha_weighted": m.alpha_weighted(lam, alpha=2.5),
        "mp_softrank": m.mp_softrank(lam, lambda_plus=0.8),
    }
    assert set(out) == set(ref)
    for k, v in ref.items():
        assert out[k] == pytest.approx(float(v), rel=1e-13), k
    nan = layer_metrics(lam, float("nan"), float("nan"))
    assert np.isnan(nan["alpha_weighted"]) and np.isnan(nan["mp_softrank"])
    assert nan["entropy"] == pytest.approx(out["entropy"], rel=1e-15)


# ------------------------------------------------------------------------------ renamed names


@pytest.mark.parametrize(
    "old, new",
    [
        ("weighted_alpha", "alpha_weighted"),
        ("log_frobenius_norm", "log_norm"),
        ("mp_soft_rank", "mp_softrank"),
        ("matrix_entropy", "entropy"),
        ("all", "summary"),
    ],
)
def test_old_names_warn_and_are_the_new_functions(old, new):
    with pytest.warns(DeprecationWarning, match=f"htrmt.metrics.{new}"):
        f = getattr(mt, old)
    assert f is getattr(mt, new)
    assert old not in mt.__all__ and new in mt.__all__


def test_metric_functions_are_named_like_report_columns():
    columns = {f.name for f in dataclasses.fields(ht.networks.LayerResult)}
    for name in (
        "alpha",
        "alpha_weighted",
        "log_norm",
        "log_spectral_norm",
        "log_alpha_norm",
        "stable_rank",
        "mp_softrank",
        "entropy",
    ):
        assert name in columns and callable(getattr(mt, name)), name


def test_summary_old_field_names_warn():
    lam = jnp.linspace(0.1, 3.0, 200)
    m = mt.summary(lam, 2.0)
    for old, new in (
        ("weighted_alpha", "alpha_weighted"),
        ("log_frobenius_norm", "log_norm"),
        ("mp_soft_rank", "mp_softrank"),
        ("matrix_entropy", "entropy"),
    ):
        with pytest.warns(DeprecationWarning, match=f"Metrics.{new}"):
            v = getattr(m, old)
        assert v == getattr(m, new) or (math.isnan(v) and math.isnan(getattr(m, new)))
    assert "weighted_alpha" not in dataclasses.asdict(m)
