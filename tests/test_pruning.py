"""AlphaPruning ratios and the magnitude / Wanda pruners."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht


def ref_ratios(alpha, n, S, eps):
    """The published allocation, straight from the formula."""
    alpha = np.asarray(alpha, np.float64)
    n = np.asarray(n, np.float64)
    r = (1 - eps) + (alpha - alpha.min()) / (alpha.max() - alpha.min()) * 2 * eps
    return r * S * n.sum() / np.sum(n * r)


@pytest.mark.parametrize("S", [0.5, 0.6, 0.7, 0.8])
def test_alpha_pruning_ratios_formula_and_exact_target(S):
    rng = np.random.default_rng(0)
    names = [f"l{j}" for j in range(12)]
    alpha = rng.uniform(2, 6, 12)
    n = rng.integers(1000, 100000, 12)
    r = ht.pruning.alpha_pruning_ratios(
        dict(zip(names, alpha)), S, epsilon=0.2, num_params=dict(zip(names, n))
    )
    got = np.array([r[k] for k in names])
    ref = ref_ratios(alpha, n, S, 0.2)
    if ref.max() <= 0.99:
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert np.sum(got * n) / np.sum(n) == pytest.approx(S, rel=1e-12)
    order = np.argsort(alpha)
    assert np.all(np.diff(got[order]) >= -1e-15)  # larger α, pruned more
    assert got.max() <= 0.99


def test_clipping_keeps_exact_target():
    alpha = {"a": 2.0, "b": 2.1, "c": 8.0}
    n = {"a": 1000, "b": 1000, "c": 1000}
    r = ht.pruning.alpha_pruning_ratios(alpha, 0.8, epsilon=0.5, num_params=n, max_ratio=0.95)
    assert r["c"] == 0.95  # the unclipped allocation gives 1.435
    assert r["b"] / r["a"] == pytest.approx(
        ref_ratios([2.0, 2.1, 8.0], [1] * 3, 0.8, 0.5)[1:2]
        / ref_ratios([2.0, 2.1, 8.0], [1] * 3, 0.8, 0.5)[0]
    )
    total = sum(r[k] * n[k] for k in n) / sum(n.values())
    assert total == pytest.approx(0.8, rel=1e-12)
    with pytest.raises(ValueError, match="max_ratio"):
        ht.pruning.alpha_pruning_ratios(alpha, 0.9, epsilon=0.5, num_params=n, max_ratio=0.85)
    r = ht.pruning.alpha_pruning_ratios(alpha, 0.9, epsilon=0.5, num_params=n, max_ratio=0.9)
    assert list(r.values()) == pytest.approx([0.9] * 3, rel=1e-12)


def test_by_block_means_and_degenerate():
    alpha = {"layers.0.q": 2.0, "layers.0.k": 4.0, "layers.1.q": 5.0, "layers.1.k": 5.0}
    n = dict.fromkeys(alpha, 100)
    r = ht.pruning.alpha_pruning_ratios(
        alpha, 0.5, epsilon=0.3, num_params=n, by_block=r"layers\.(\d+)\."
    )
    assert r["layers.0.q"] == r["layers.0.k"]
    ref = ref_ratios([3.0, 3.0, 5.0, 5.0], [100] * 4, 0.5, 0.3)
    np.testing.assert_allclose([r[k] for k in alpha], ref, rtol=1e-12)
    flat = ht.pruning.alpha_pruning_ratios(dict.fromkeys(n, 3.0), 0.6, epsilon=0.3, num_params=n)
    assert list(flat.values()) == pytest.approx([0.6] * 4, rel=1e-15)
    assert ht.pruning.uniform_ratios(alpha, 0.6) == dict.fromkeys(alpha, 0.6)


def test_ratios_from_layer_metrics():
    mlp = eqx.nn.MLP(64, 64, 96, 2, key=jax.random.key(0))
    m = ht.act.layer_metrics(mlp, estimator="alphapruning")
    r = ht.pruning.alpha_pruning_ratios(m, 0.7, epsilon=0.3)
    n = np.array(m.num_params)
    got = np.array([r[k] for k in m.names])
    assert np.sum(got * n) / n.sum() == pytest.approx(0.7, rel=1e-12)


def test_ratio_argument_errors():
    a, n = {"a": 2.0, "b": 3.0}, {"a": 1, "b": 1}
    for bad in (1.0, -0.1, float("nan"), True):
        with pytest.raises(ValueError, match="sparsity"):
            ht.pruning.alpha_pruning_ratios(a, bad, epsilon=0.2, num_params=n)
    with pytest.raises(ValueError, match="epsilon"):
        ht.pruning.alpha_pruning_ratios(a, 0.5, epsilon=1.0, num_params=n)
    with pytest.raises(ValueError, match="num_params"):
        ht.pruning.alpha_pruning_ratios(a, 0.5, epsilon=0.2)
    with pytest.raises(ValueError, match="finite alpha"):
        ht.pruning.alpha_pruning_ratios(
            {"a": float("nan"), "b": 2.0}, 0.5, epsilon=0.2, num_params=n
        )
    with pytest.raises(ValueError, match="sparsity"):
        ht.pruning.uniform_ratios(["a"], 1.5)


def test_magnitude_pruning():
    mlp = eqx.nn.MLP(16, 4, 32, 1, key=jax.random.key(1))
    res = ht.pruning.prune(mlp, {"layers.0.weight": 0.3, "layers.1.weight": 0.6})
    w0, m0 = mlp.layers[0].weight, res.masks.layers[0].weight
    k = int(w0.size * 0.3)
    assert int(jnp.sum(~m0)) == k
    assert float(jnp.max(jnp.abs(w0)[~m0])) <= float(jnp.min(jnp.abs(w0)[m0]))
    np.testing.assert_array_equal(
        np.asarray(res.params.layers[0].weight), np.where(np.asarray(m0), np.asarray(w0), 0.0)
    )
    assert res.masks.layers[0].bias is None
    assert res.sparsity == {"layers.0.weight": k / w0.size, "layers.1.weight": int(128 * 0.6) / 128}
    np.testing.assert_array_equal(
        np.asarray(res.params.layers[0].bias), np.asarray(mlp.layers[0].bias)
    )


def ref_wanda(W, X, r):
    """Per output row, zero the ⌊in·r⌋ smallest |W_ij|·‖X_j‖ (stable order)."""
    score = np.abs(W) * np.sqrt(np.sum(X.reshape(-1, X.shape[-1]) ** 2, 0))[None, :]
    keep = np.ones_like(W, bool)
    k = int(W.shape[1] * r)
    for i in range(W.shape[0]):
        keep[i, np.argsort(score[i], kind="stable")[:k]] = False
    return keep


def test_wanda_equinox_flax_and_state_dict():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((12, 20))
    X = rng.standard_normal((3, 50, 20)) * rng.uniform(0.1, 3, 20)  # calibration batches
    ref = ref_wanda(W, X, 0.5)
    sd = {"fc.weight": W, "fc.bias": np.zeros(12)}
    res = ht.pruning.prune(sd, {"fc.weight": 0.5}, score="wanda", activations={"fc.weight": X})
    assert isinstance(res.params["fc.weight"], np.ndarray)
    np.testing.assert_array_equal(res.masks["fc.weight"], ref)
    flax_like = {"Dense_0": {"kernel": W.T}}
    res_f = ht.pruning.prune(
        flax_like, {"Dense_0.kernel": 0.5}, score="wanda", activations={"Dense_0.kernel": X}
    )
    np.testing.assert_array_equal(res_f.masks["Dense_0"]["kernel"], ref.T)
    norms = ht.pruning.input_norms(X)
    res_n = ht.pruning.prune(
        sd, {"fc.weight": 0.5}, score="wanda", activations={"fc.weight": norms}
    )
    np.testing.assert_array_equal(res_n.masks["fc.weight"], ref)


def test_prune_errors():
    sd = {"fc.weight": np.ones((4, 6)), "conv.weight": np.ones((4, 2, 3, 3))}
    with pytest.raises(ValueError, match="score"):
        ht.pruning.prune(sd, {"fc.weight": 0.5}, score="random")
    with pytest.raises(ValueError, match="not selected"):
        ht.pruning.prune(sd, {"nope": 0.5})
    with pytest.raises(ValueError, match="ratios"):
        ht.pruning.prune(sd, {"fc.weight": 1.0})
    with pytest.raises(ValueError, match="activations"):
        ht.pruning.prune(sd, {"fc.weight": 0.5}, score="wanda")
    with pytest.raises(ValueError, match="input features"):
        ht.pruning.prune(
            sd, {"fc.weight": 0.5}, score="wanda", activations={"fc.weight": np.ones((5, 4))}
        )
    with pytest.raises(ValueError, match="dense"):
        ht.pruning.prune(
            sd, {"conv.weight": 0.5}, score="wanda", activations={"conv.weight": np.ones(2)}
        )
    res = ht.pruning.prune(sd, {"conv.weight": 0.5})
    assert int(np.sum(~res.masks["conv.weight"])) == 36


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_device_masks_equal_host_masks_with_ties(dtype):
    # CPU arrays are sorted by NumPy, others by XLA on their device: the same stable order
    from htrmt.pruning import _prune

    rng = np.random.default_rng(0)
    w = jnp.asarray(np.round(rng.standard_normal((64, 96)), 1), dtype)  # many ties
    norms = jnp.asarray(np.abs(rng.standard_normal(96)), jnp.float32)
    k = jnp.asarray(int(w.size * 0.37), jnp.int32)
    np.testing.assert_array_equal(
        np.asarray(_prune._magnitude_mask(w, 0.37)), np.asarray(_prune._magnitude_keep(w, k))
    )
    k = jnp.asarray(int(96 * 0.41), jnp.int32)
    np.testing.assert_array_equal(
        np.asarray(_prune._wanda_mask(w, norms, 0.41)),
        np.asarray(_prune._wanda_keep(w, norms, k)),
    )
