"""The jittable MP bulk fit and classifier evidence against their host forms.

``fit.marchenko_pastur_jit`` and ``phases.evidence`` must give what ``fit.marchenko_pastur`` and
``phases.classify`` give on the same spectrum (float64: to 1e-10 relative, counts and verdicts
exactly), eagerly, under ``jit`` and under ``vmap``. Deterministic inputs (fixed keys).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht
from htrmt.phases import PHASES

KEY = jax.random.key(20261204)
FLOATS = ("sigma", "sigma_ks", "sigma_edge", "sigma_moment", "lambda_plus", "threshold", "D_bulk")


def _spectra():
    g = np.asarray(ht.esd(ht.ensembles.gaussian(KEY, (400, 200), dtype=jnp.float64)))
    s = ht.ensembles.spiked_covariance(KEY, (400, 200), spikes=(8.0, 4.0), dtype=jnp.float64)
    return {
        "mp": (g, 2.0),
        "spiked": (np.asarray(ht.esd(s)), 2.0),
        "deficient": (np.concatenate([np.zeros(40), g]), 400 / 240),
    }


SPECTRA = _spectra()


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize("method", ["ks", "moment"])
def test_mp_jit_equals_host(name, method):
    lam, Q = SPECTRA[name]
    h = ht.fit.marchenko_pastur(lam, Q, method=method)
    j = jax.jit(lambda e: ht.fit.marchenko_pastur_jit(e, Q, method=method))(lam)
    for f in FLOATS:
        assert float(getattr(j, f)) == pytest.approx(float(getattr(h, f)), rel=1e-10), f
    assert (int(j.num_spikes), int(j.num_bulk), int(j.num_zero), int(j.iterations)) == (
        h.num_spikes,
        h.num_bulk,
        h.num_zero,
        h.iterations,
    )
    assert ht.Status(int(j.status)).label == h.status


def test_mp_jit_vmap_and_status():
    lam, Q = SPECTRA["mp"]
    batch = jnp.stack([lam, 3.0 * lam, jnp.full_like(lam, jnp.nan)])
    v = jax.vmap(lambda e: ht.fit.marchenko_pastur_jit(e, Q))(batch)
    assert v.sigma.shape == (3,)
    assert float(v.sigma[1]) == pytest.approx(np.sqrt(3.0) * float(v.sigma[0]), rel=1e-10)
    assert list(np.asarray(v.status)) == [ht.Status.OK, ht.Status.OK, ht.Status.NONFINITE]
    assert np.isnan(float(v.sigma[2]))
    few = jnp.concatenate([jnp.zeros(20), jnp.linspace(1.0, 2.0, 5)])  # 5 non-null values
    assert int(jax.jit(ht.fit.marchenko_pastur_jit)(few, 1.0).status) == ht.Status.TOO_FEW_DATA
    with pytest.raises(ValueError, match="Marchenko–Pastur fit failed: more than a tenth"):
        ht.fit.marchenko_pastur_jit(SPECTRA["deficient"][0], SPECTRA["deficient"][1], throw=True)
    with pytest.raises(ValueError, match="evals contains NaN"):
        ht.fit.marchenko_pastur_jit(batch[2], Q)
    with pytest.raises(ValueError, match="at least 8"):
        ht.fit.marchenko_pastur_jit(jnp.ones(5), 1.0)


def test_evidence_equals_classify_on_every_phase():
    keys = jax.random.split(KEY, len(PHASES))
    for key, phase in zip(keys, PHASES):
        lam = np.asarray(
            ht.esd(ht.ensembles.phase_example(key, phase, (500, 250), dtype=jnp.float64))
        )
        h = ht.phases.classify(lam, 2.0, fit_powerlaw=False)
        e = ht.phases.evidence(lam, 2.0)
        assert e.phase == h.phase, phase
        for f in ("num_null", "num_outliers", "num_separated", "num_leaking"):
            assert int(getattr(e, f)) == getattr(h, f), (phase, f)
        for f in ("null_gap_decades", "max_gap", "ratio", "D_bulk", "outlier_fraction"):
            hv, ev = float(getattr(h, f)), float(getattr(e, f))
            assert (np.isnan(hv) and np.isnan(ev)) or ev == pytest.approx(hv, rel=1e-9), (phase, f)


def test_evidence_vmap_batch():
    lam = ht.esd(ht.ensembles.phase_example(KEY, "bulk+spikes", (4, 500, 250), dtype=jnp.float64))
    e = jax.vmap(lambda x: ht.phases.evidence(x, 2.0))(lam)
    assert e.phase_index.shape == (4,)
    assert e.phase == [
        ht.phases.classify(np.asarray(x), 2.0, fit_powerlaw=False).phase for x in lam
    ]
