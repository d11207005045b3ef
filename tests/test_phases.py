"""The 5+1 phase classifier and its synthetic examples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht
from htrmt.phases import PHASES, PhaseThresholds, classify

# Held-out keys: the thresholds were chosen on keys 7, 11–13, 100–110 and 1000–1100.
HELD_OUT = 20261125


@pytest.mark.parametrize("phase", PHASES)
def test_classifier_per_phase(phase):
    # 10 held-out matrices per phase at M = 500, Q = 2; pass at >= 90% correct (at most one
    # error). Per-matrix error rates measured in calibration are <= 1% (random-like: the TW1 99%
    # spike margin), so P(>= 2 errors in 10) <= 0.5% per phase (false-failure rate).
    key = jax.random.fold_in(jax.random.key(HELD_OUT), PHASES.index(phase))
    lam = ht.esd(ht.ensembles.phase_example(key, phase, (10, 1000, 500), dtype=jnp.float64))
    verdicts = [classify(lam[i], 2.0, fit_powerlaw=False).phase for i in range(10)]
    assert sum(v == phase for v in verdicts) >= 9, verdicts


@pytest.mark.slow
def test_confusion_matrix_large():
    # Over sizes and aspect ratios, 20 held-out matrices per (phase, shape): >= 90% per phase
    # and per shape (at most 2 errors in 20; per-matrix error rates <= 1% give P <= 0.1%).
    shapes = ((500, 500), (1000, 500), (2000, 500), (1000, 1000), (2000, 1000))
    cm = ht.phases.confusion_matrix(jax.random.key(HELD_OUT + 1), shapes=shapes, trials=20)
    for shape, counts in cm.per_shape.items():
        for i, p in enumerate(cm.phases):
            assert counts[i, cm.labels.index(p)] >= 18, (shape, p, counts[i])
    assert all(a >= 0.9 for a in cm.accuracy.values()), cm.to_markdown()


def test_evidence_bulk_spikes_and_random(key):
    # Planted spikes well above BBP (htrmt.ensembles.spiked_covariance): the verdict is
    # bulk+spikes and the evidence counts them.
    W = ht.ensembles.spiked_covariance(key, (1000, 500), spikes=(4.0, 9.0), dtype=jnp.float64)
    r = classify(ht.esd(W), 2.0)
    assert r.phase == "bulk+spikes", r.reason
    assert r.num_separated == 2 and r.num_leaking == 0 and r.num_outliers == 2
    assert r.mp is not None and r.mp.num_spikes == 2
    assert r.max_gap >= r.thresholds.separation
    assert r.powerlaw is not None
    g = classify(ht.esd(ht.ensembles.gaussian(key, (1000, 500), dtype=jnp.float64)), 2.0)
    assert g.phase == "random-like" and g.num_outliers == 0 and g.ratio < 1.05


def test_evidence_rank_collapse_and_scale_invariance(key):
    lam = ht.esd(ht.ensembles.phase_example(key, "rank-collapse", (800, 400), dtype=jnp.float64))
    r = classify(lam, 2.0)
    assert r.phase == "rank-collapse"
    assert r.num_null == 400 - 20 and r.null_gap_decades >= 3
    # Exactly rank-deficient input (zeros) works too.
    z = jnp.concatenate([jnp.zeros(300), lam[-100:]])
    assert classify(z, 2.0).phase == "rank-collapse"
    # Scale invariance: multiplying the ESD by N (normalization="none") changes nothing.
    for phase in ("bulk-decay", "heavy-tailed"):
        lam = ht.esd(ht.ensembles.phase_example(key, phase, (800, 400), dtype=jnp.float64))
        a, b = (
            classify(lam, 2.0, fit_powerlaw=False),
            classify(800.0 * lam, 2.0, fit_powerlaw=False),
        )
        assert a.phase == b.phase
        assert a.num_outliers == b.num_outliers
        assert a.ratio == pytest.approx(b.ratio, rel=1e-9)


def test_float32_path(key):
    for i, phase in enumerate(PHASES):
        W = ht.ensembles.phase_example(
            jax.random.fold_in(key, i), phase, (1000, 500), dtype=jnp.float32
        )
        lam = ht.esd(W)
        assert lam.dtype == jnp.float32
        assert classify(lam, 2.0, fit_powerlaw=False).phase == phase


def test_thresholds_are_used(key):
    lam = ht.esd(ht.ensembles.phase_example(key, "bleeding-out", (1000, 500), dtype=jnp.float64))
    assert classify(lam, 2.0, fit_powerlaw=False).phase == "bleeding-out"
    # Demanding almost nothing for bulk-decay turns the same spectrum into bulk-decay.
    th = PhaseThresholds(decay_fraction=0.001, decay_ratio=100.0)
    assert classify(lam, 2.0, thresholds=th, fit_powerlaw=False).phase == "bulk-decay"


def test_phase_example_shapes_jit_vmap(key):
    f = jax.jit(ht.ensembles.phase_example, static_argnums=(1, 2))
    for phase in PHASES:
        W = f(key, phase, (60, 40))
        assert W.shape == (60, 40) and W.dtype == jnp.float64
        assert bool(jnp.all(jnp.isfinite(W)))
    # jit == eager, and vmap over keys == a loop, for the phases whose parameters are drawn.
    keys = jax.random.split(key, 2)
    for phase in ("bulk+spikes", "heavy-tailed"):
        eager = [ht.ensembles.phase_example(k, phase, (60, 40)) for k in keys]
        np.testing.assert_allclose(
            np.asarray(f(keys[0], phase, (60, 40))), np.asarray(eager[0]), rtol=1e-12
        )
        vm = jax.vmap(lambda k, p=phase: ht.ensembles.phase_example(k, p, (60, 40)))(keys)
        for j in range(2):
            np.testing.assert_allclose(np.asarray(vm[j]), np.asarray(eager[j]), rtol=1e-12)
    # A leading batch axis: one parameter draw per matrix (different spike counts appear).
    lam = ht.esd(ht.ensembles.phase_example(key, "bulk+spikes", (6, 200, 100), dtype=jnp.float64))
    counts = {ht.fit.marchenko_pastur(lam[i], 2.0).num_spikes for i in range(6)}
    assert len(counts) > 1
    a = ht.ensembles.phase_example(key, "random-like", (60, 40), sigma=2.0, dtype=jnp.float32)
    b = ht.ensembles.phase_example(key, "random-like", (60, 40), dtype=jnp.float32)
    assert a.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(a), 2.0 * np.asarray(b), rtol=1e-6)


def test_confusion_matrix_small():
    cm = ht.phases.confusion_matrix(
        jax.random.key(3), shapes=((120, 60),), trials=2, phases=("random-like", "rank-collapse")
    )
    assert cm.counts.shape == (2, 6) and int(cm.counts.sum()) == 4
    assert set(cm.accuracy) == {"random-like", "rank-collapse"}
    md = cm.to_markdown()
    assert md.splitlines()[0].startswith("| true \\ predicted | random-like")
    assert len(md.splitlines()) == 4


def test_bad_input(key):
    good = jnp.linspace(0.1, 3.0, 50)
    with pytest.raises(ValueError, match="1-D"):
        classify(good.reshape(5, 10), 2.0)
    with pytest.raises(ValueError, match="NaN"):
        classify(jnp.concatenate([good, jnp.array([jnp.nan])]), 2.0)
    with pytest.raises(ValueError, match="at least 8"):
        classify(good[:4], 2.0)
    with pytest.raises(ValueError, match="Q"):
        classify(good, 0.9)
    with pytest.raises(ValueError, match="no positive"):
        classify(jnp.zeros(20), 2.0)
    with pytest.raises(ValueError, match="negative"):
        classify(jnp.concatenate([good, jnp.array([-5.0])]), 2.0)
    with pytest.raises(TypeError, match="thresholds"):
        classify(good, 2.0, thresholds={"ht_gap": 3})
    with pytest.raises(ValueError, match="phase"):
        ht.ensembles.phase_example(key, "grokking", (60, 40))
    with pytest.raises(ValueError, match="N >= M"):
        ht.ensembles.phase_example(key, "random-like", (40, 60))
    with pytest.raises(ValueError, match="sigma"):
        ht.ensembles.phase_example(key, "random-like", (60, 40), sigma=0.0)
    with pytest.raises(ValueError, match="trials"):
        ht.phases.confusion_matrix(key, trials=0)
    with pytest.raises(ValueError, match="phases"):
        ht.phases.confusion_matrix(key, phases=("spiky",), trials=1)
