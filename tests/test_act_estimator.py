"""The published HT-SR estimator against a literal NumPy transcription of the published code."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht
from htrmt.act import Estimator, Windows

# ---------------------------------------------------------------------------------------------
# reference: the loops of the published ``net_esd_estimator``, in float64 NumPy


def ref_fit(eigs, mode, xmin_pos=2.0, bins=100, thresh=1e-5, filter_zeros=True):
    eigs = np.sort(np.asarray(eigs, np.float64))
    nz = eigs[eigs > thresh] if filter_zeros else eigs
    if nz.size == 0:
        nz = eigs
    N = nz.size
    log_nz = np.log(nz)
    if mode == "median":
        i = int(N / xmin_pos)
        xmin = nz[i]
        n = float(N - i)
        seq = np.arange(n)
        alpha = 1 + n / (np.sum(log_nz[i:]) - n * log_nz[i])
        D = np.max(np.abs(1 - (nz[i:] / xmin) ** (-alpha + 1) - seq / n))
        return alpha, D, xmin
    alphas = np.zeros(N - 1)
    Ds = np.ones(N - 1)
    if mode == "fix-finger":
        h = np.log10(nz)
        lo, hi = h.min(), h.max()
        counts = np.zeros(bins, int)
        for v in h:  # torch.histc: bin ⌊(v − lo)·bins/(hi − lo)⌋, the maximum in the last bin
            counts[min(int(math.floor((v - lo) * bins / (hi - lo))), bins - 1)] += 1
        edges = np.linspace(lo, hi, bins + 1)
        xmin2 = 10 ** edges[np.argmax(counts)]
        xmin_min = np.log10(0.95 * xmin2)
        xmin_max = 1.5 * xmin2
    for i, xmin in enumerate(nz[:-1]):
        if mode == "fix-finger":
            if xmin < xmin_min:
                continue
            if xmin > xmin_max:
                break
        n = float(N - i)
        seq = np.arange(n)
        alpha = 1 + n / (np.sum(log_nz[i:]) - n * log_nz[i])
        alphas[i] = alpha
        if alpha > 1:
            Ds[i] = np.max(np.abs(1 - (nz[i:] / xmin) ** (-alpha + 1) - seq / n))
    j = int(np.argmin(Ds))
    return alphas[j], Ds[j], nz[j]


def spectra():
    rng = np.random.default_rng(0)
    out = []
    for mu in (1.5, 2.5, 4.0):  # heavy-tailed elements
        W = rng.standard_t(mu, size=(300, 120))
        out.append(np.linalg.svd(W, compute_uv=False) ** 2)
    W = rng.standard_normal((200, 200)) / 20  # square: tiny eigenvalues below the filter
    out.append(np.linalg.svd(W, compute_uv=False) ** 2)
    out.append(np.concatenate([np.full(7, 1e-7), rng.pareto(2.0, 150) + 1.0]))
    return out


@pytest.mark.parametrize("mode", ["median", "fix-finger", "goodness-of-fit"])
@pytest.mark.parametrize("k", range(5))
def test_hill_fit_matches_published_loops(mode, k):
    lam = spectra()[k]
    for xmin_pos in (2.0, 1.5) if mode == "median" else (2.0,):
        est = Estimator(fit=mode, xmin_pos=xmin_pos)
        fit = ht.act.hill_fit(jnp.asarray(np.random.default_rng(k).permutation(lam)), est)
        a, D, xmin = ref_fit(lam, mode, xmin_pos=xmin_pos)
        assert fit.alpha.dtype == jnp.float64
        np.testing.assert_allclose(float(fit.alpha), a, rtol=1e-12)
        np.testing.assert_allclose(float(fit.D), D, rtol=1e-12, atol=1e-15)
        assert float(fit.xmin) == xmin
        assert int(fit.status) == 0


def test_hill_fit_no_filter_and_aliases():
    lam = spectra()[4]
    est = Estimator(fit="xmin_mid", filter_zeros=False)
    assert est.fit == "median"
    fit = ht.act.hill_fit(jnp.asarray(lam), est)
    a, D, _ = ref_fit(lam, "median", filter_zeros=False)
    np.testing.assert_allclose(float(fit.alpha), a, rtol=1e-12)
    assert Estimator(fit="xmin_peak").fit == "fix-finger"


def test_hill_fit_other_outputs_and_jit_vmap():
    lam = jnp.asarray(spectra()[1])
    fit = ht.act.hill_fit(lam, "tempbalance")
    np.testing.assert_allclose(float(fit.lambda_max), float(lam.max()), rtol=0)
    np.testing.assert_allclose(float(fit.frobenius), float(np.sum(spectra()[1])), rtol=1e-12)
    np.testing.assert_allclose(
        float(fit.alpha_hat), float(fit.alpha) * math.log10(float(lam.max())), rtol=1e-12
    )
    np.testing.assert_allclose(
        float(fit.stable_rank), float(fit.frobenius) / float(fit.lambda_max), rtol=1e-12
    )
    jf = jax.jit(ht.act.hill_fit, static_argnums=1)(lam, ht.act.ESTIMATORS["alphapruning"])
    ef = ht.act.hill_fit(lam, "alphapruning")
    assert float(jf.alpha) == pytest.approx(float(ef.alpha), rel=1e-13)
    batch = jnp.stack([jnp.asarray(s[:100]) for s in spectra()[:3]])
    vf = jax.vmap(lambda x: ht.act.hill_fit(x, "goodness-of-fit"))(batch)
    for b in range(3):
        one = ht.act.hill_fit(batch[b], "goodness-of-fit")
        assert float(vf.alpha[b]) == pytest.approx(float(one.alpha), rel=1e-13)


def test_hill_fit_float32_kept():
    lam = jnp.asarray(spectra()[0], jnp.float32)
    fit = ht.act.hill_fit(lam, "tempbalance")
    assert fit.alpha.dtype == jnp.float32
    a, _, _ = ref_fit(np.asarray(lam, np.float64), "median")
    assert float(fit.alpha) == pytest.approx(a, rel=1e-4)


def test_hill_fit_degenerate_statuses():
    fit = ht.act.hill_fit(jnp.asarray([1e-9, 2e-9, 3.0]), "goodness-of-fit")
    assert ht.act.HILL_STATUS[int(fit.status)] == "no-candidate"  # one value survives
    fit = ht.act.hill_fit(jnp.full(20, 2.0), "tempbalance")
    assert ht.act.HILL_STATUS[int(fit.status)] == "non-finite"  # constant tail: α = ∞


def test_estimator_argument_errors():
    with pytest.raises(ValueError, match="fit"):
        Estimator(fit="best")
    with pytest.raises(ValueError, match="xmin_pos"):
        Estimator(xmin_pos=0.5)
    with pytest.raises(ValueError, match="eigs_thresh"):
        Estimator(eigs_thresh=-1)
    with pytest.raises(ValueError, match="estimator"):
        ht.act.get_estimator("temp-balance")
    with pytest.raises(ValueError, match="rows"):
        Windows(rows=1)
    with pytest.raises(ValueError, match="num_starts"):
        Windows(num_starts=0)
    with pytest.raises(ValueError, match="evals"):
        ht.act.hill_fit(jnp.ones((2, 3)))


# ---------------------------------------------------------------------------------------------
# ESD conventions


def test_layer_esd_linear_and_conv_against_svd():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((40, 70))
    lam = ht.act.layer_esd(jnp.asarray(W), "tempbalance")
    ref = np.sort(np.linalg.svd(W, compute_uv=False) ** 2)
    np.testing.assert_allclose(np.asarray(lam), ref, rtol=1e-10, atol=1e-10 * ref.max())
    K = rng.standard_normal((16, 8, 3, 3))  # PyTorch (out, in, kh, kw)
    slices = np.transpose(K, (2, 3, 0, 1)).reshape(9, 16, 8)
    lam = ht.act.layer_esd(jnp.asarray(slices), "tempbalance")
    # published: W.flatten(2) * sqrt(conv_norm), slices (out, in), squared singular values pooled
    m = K.reshape(16, 8, 9) * math.sqrt(0.5)
    m = np.transpose(np.transpose(m, (0, 2, 1)), (1, 0, 2))
    ref = np.sort((np.linalg.svd(m, compute_uv=False) ** 2).ravel())
    np.testing.assert_allclose(np.asarray(lam), ref, rtol=1e-10, atol=1e-10 * ref.max())
    lam_svd = ht.act.layer_esd(jnp.asarray(slices), Estimator(spectrum="svd"))
    np.testing.assert_allclose(np.asarray(lam_svd), ref, rtol=1e-12, atol=1e-13 * ref.max())


def ref_farms(W, r, q, k):
    m, n = W.shape
    c = int(r * q)
    rw, cw = min(r, m), min(c, n)
    rs = sorted({int(x) for x in np.floor(np.linspace(0, m - rw, k))})
    cs = sorted({int(x) for x in np.floor(np.linspace(0, n - cw, k))})
    eigs = []
    for a in rs:
        for b in cs:
            eigs.append(np.linalg.svd(W[a : a + rw, b : b + cw], compute_uv=False) ** 2)
    return np.sort(np.concatenate(eigs))


@pytest.mark.parametrize("shape", [(250, 180), (60, 300), (30, 40)])
def test_farms_windows(shape):
    rng = np.random.default_rng(2)
    W = rng.standard_normal(shape)
    est = Estimator(windows=Windows(rows=100, aspect_ratio=0.5, num_starts=9))
    lam = ht.act.layer_esd(jnp.asarray(W), est)
    ref = ref_farms(W, 100, 0.5, 9)
    assert lam.shape == ref.shape
    np.testing.assert_allclose(np.asarray(lam), ref, rtol=1e-10, atol=1e-10 * ref.max())


def test_farms_matrix_smaller_than_window_is_its_own_esd():
    W = jnp.asarray(np.random.default_rng(3).standard_normal((50, 30)))
    far = ht.act.layer_esd(W, "farms")
    plain = ht.act.layer_esd(W, "tempbalance")
    np.testing.assert_allclose(np.asarray(far), np.asarray(plain), rtol=1e-12)
    assert ht.act.window_starts(50, 100, 9) == (50, (0,))
    assert ht.act.window_starts(200, 100, 3) == (100, (0, 50, 100))


# ---------------------------------------------------------------------------------------------
# analyze(estimator=...)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("farms", marks=pytest.mark.slow),  # its windows: test_farms_* above
        pytest.param("tempbalance", marks=pytest.mark.slow),
        "alphapruning",
    ],
)
def test_analyze_estimator_matches_hill_fit(name):
    mlp = eqx.nn.MLP(64, 10, 128, 2, key=jax.random.key(0))
    rep = ht.analyze(mlp, estimator=name)
    assert rep.conventions == name
    for row, lay in zip(rep.layers, mlp.layers):
        W = np.asarray(lay.weight, np.float64)
        lam = np.asarray(ht.act.layer_esd(jnp.asarray(W), name))
        fit = ht.act.hill_fit(jnp.asarray(lam), name)
        assert row.alpha == pytest.approx(float(fit.alpha), rel=1e-5)
        assert row.lambda_max == pytest.approx(float(lam.max()), rel=1e-5)
    if name == "alphapruning":  # the published estimator: 10 eigenvalues < eigs_thresh 50
        assert "eigs_thresh" in rep.layers[-1].warning


def test_analyze_estimator_errors():
    mlp = eqx.nn.MLP(8, 2, 16, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="estimator"):
        ht.analyze(mlp, estimator="nope")
    with pytest.raises(ValueError, match="exclusive"):
        ht.analyze(mlp, estimator="tempbalance", peer_conventions=True)
    with pytest.raises(ValueError, match="conv"):
        ht.analyze(mlp, estimator="tempbalance", conv="flatten")
