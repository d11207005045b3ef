"""optax transformations from α: TempBalance, Model Balancing, AlphaDecay."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import htrmt as ht


def mlp_params(seed=0, depth=4):
    mlp = eqx.nn.MLP(64, 10, 96, depth, key=jax.random.key(seed))
    # heavier tails layer by layer, so the αs differ clearly
    leaves, tdef = jax.tree_util.tree_flatten(eqx.filter(mlp, eqx.is_array))
    key = jax.random.key(seed + 100)
    new = []
    for j, x in enumerate(leaves):
        key, sub = jax.random.split(key)
        if x.ndim == 2:
            x = jax.random.t(sub, 2.0 + j, x.shape) * 0.05
        new.append(x)
    return jax.tree_util.tree_unflatten(tdef, new)


def ones_like(p):
    return jax.tree_util.tree_map(jnp.ones_like, p)


def ref_linear(alpha, incl, r_min=0.5, r_max=1.5):
    a = np.asarray(alpha)[incl]
    lo, hi = a.min(), a.max()
    f = np.ones(len(alpha))
    f[incl] = r_min + (a - lo) / (hi - lo) * (r_max - r_min)
    return f


def test_temp_balance_factors_and_updates():
    params = mlp_params()
    lr = 0.1
    opt = optax.chain(optax.sgd(lr), ht.training.temp_balance(every=None))
    state = opt.init(params)
    m = ht.act.layer_metrics(params)
    incl = np.array([False, True, True, True, False])
    ref = ref_linear(np.asarray(m.alpha), incl)
    f = ht.training.balance_factors(state)
    np.testing.assert_allclose(list(f.values()), ref, rtol=1e-12)
    assert list(f) == list(m.names)
    upd, state = opt.update(ones_like(params), state, params)
    for j, lay in enumerate(upd.layers):
        np.testing.assert_allclose(np.asarray(lay.weight), -lr * ref[j], rtol=1e-12)
        np.testing.assert_allclose(np.asarray(lay.bias), -lr * ref[j], rtol=1e-12)  # bias follows
    assert int(state[1].count) == 1


@pytest.mark.parametrize("kind", ["sqrt", "log2", "rank"])
def test_map_alpha_variants(kind):
    alpha = jnp.asarray([3.0, 2.0, 5.0, 4.0, 9.0])
    mask = jnp.asarray([True, True, True, True, False])
    f, deg = ht.training.map_alpha(alpha, mask, map=kind, r_min=0.5, r_max=1.5)
    a = np.array([3.0, 2.0, 5.0, 4.0])
    if kind == "sqrt":
        ref = 4 * np.sqrt(a) / np.sum(np.sqrt(a))
    elif kind == "log2":
        ref = 4 * np.log2(a) / np.sum(np.log2(a))
    else:
        ref = 0.5 + np.array([1, 0, 3, 2]) / 3
    np.testing.assert_allclose(np.asarray(f)[:4], ref, rtol=1e-12)
    assert float(f[4]) == 1.0 and not bool(deg)


def test_degenerate_map_gives_ones():
    f, deg = ht.training.map_alpha(jnp.full(4, 2.5), jnp.ones(4, bool))
    assert bool(deg) and np.all(np.asarray(f) == 1.0)
    f, deg = ht.training.map_alpha(jnp.asarray([2.0, 3.0]), jnp.asarray([True, False]))
    assert bool(deg) and np.all(np.asarray(f) == 1.0)


def test_recompute_every_k_steps_under_jit():
    params = mlp_params(1)
    opt = optax.chain(optax.sgd(0.05), ht.training.temp_balance(every=3))
    state = opt.init(params)
    grads = mlp_params(2)

    @jax.jit
    def step(p, s):
        u, s = opt.update(grads, s, p)
        return optax.apply_updates(p, u), s

    alphas = [np.asarray(state[1].alpha)]
    for _ in range(7):
        params_before = params
        params, state = step(params, state)
        alphas.append(np.asarray(state[1].alpha))
        count = int(state[1].count)
        if (count - 1) % 3 == 0 and count > 1:  # recomputed from the params before this update
            expect = np.asarray(ht.act.layer_metrics(params_before).alpha)
            incl = np.array([False, True, True, True, False])
            np.testing.assert_allclose(alphas[-1][incl], expect[incl], rtol=1e-10)
    changed = [not np.allclose(alphas[i], alphas[i - 1], equal_nan=True) for i in range(1, 8)]
    assert changed == [False, False, False, True, False, False, True]


def test_jit_equals_eager():
    params = mlp_params(3)
    opt = optax.chain(optax.sgd(0.1, momentum=0.9), ht.training.temp_balance(every=1))
    s0 = opt.init(params)
    g = mlp_params(4)
    u1, s1 = opt.update(g, s0, params)
    u2, s2 = jax.jit(opt.update)(g, s0, params)
    for a, b in zip(jax.tree_util.tree_leaves(u1), jax.tree_util.tree_leaves(u2)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_nan_weights_keep_or_raise():
    params = mlp_params(5)
    opt = ht.training.temp_balance(every=1)
    state = opt.init(params)
    bad = eqx.tree_at(
        lambda p: p.layers[2].weight, params, params.layers[2].weight.at[0, 0].set(jnp.nan)
    )
    g = ones_like(params)
    _, s1 = opt.update(g, state, params)
    _, s2 = opt.update(g, s1, bad)
    assert bool(s2.invalid)
    np.testing.assert_array_equal(np.asarray(s2.factor), np.asarray(s1.factor))
    opt_r = ht.training.temp_balance(every=1, on_nan="raise")
    s = opt_r.init(params)
    _, s = opt_r.update(g, s, params)
    with pytest.raises(Exception, match="finite alpha"):
        jax.block_until_ready(opt_r.update(g, s, bad))


def test_follow_and_exclusions():
    params = {
        "fc1": {"weight": jnp.asarray(np.random.default_rng(0).standard_t(3, (96, 64)))},
        "fc2": {"weight": jnp.asarray(np.random.default_rng(1).standard_t(5, (96, 96)))},
        "fc3": {"weight": jnp.asarray(np.random.default_rng(2).standard_t(8, (96, 96)))},
        "ln2": {"scale": jnp.ones(96)},
    }
    opt = ht.training.temp_balance(
        every=None, exclude_first_last=False, follow={"ln2": "fc2.weight"}
    )
    state = opt.init(params)
    f = ht.training.balance_factors(state)
    u, _ = opt.update(ones_like(params), state, params)
    assert float(u["ln2"]["scale"][0]) == pytest.approx(f["fc2.weight"])
    v = sorted(f.values())
    assert v[0] == pytest.approx(0.5) and v[2] == pytest.approx(1.5) and 0.5 < v[1] < 1.5
    opt2 = ht.training.temp_balance(every=None, exclude_first_last=False, exclude=["fc3.weight"])
    f2 = ht.training.balance_factors(opt2.init(params))
    assert f2["fc3.weight"] == 1.0
    opt3 = ht.training.temp_balance(every=None, exclude_first_last=False, min_params=7000)
    f3 = ht.training.balance_factors(opt3.init(params))
    assert f3["fc1.weight"] == 1.0  # 6144 parameters


def test_model_balancing_against_formula():
    params = mlp_params(6, depth=5)
    s_min, s_max, T = 0.5, 1.0, 10.0
    opt = ht.training.model_balancing(
        every=None, blocks=r"layers\.(\d+)\.", s_min=s_min, s_max=s_max
    )
    state = opt.init(params)
    m = ht.act.layer_metrics(params, estimator="model-balancing")
    a = np.asarray(m.alpha)
    incl = np.asarray(m.included)
    blocks = [str(j) for j in range(len(a))]
    ab = {b: a[j] for j, b in enumerate(blocks) if incl[j]}
    mu = np.mean(list(ab.values()))
    ref = []
    for b in blocks:
        if b not in ab:
            ref.append(1.0)
            continue
        d = ab[b] - mu
        sig = 1 / (1 + np.exp(-T * d)) - 0.5
        ref.append(10 ** ((s_max if d > 0 else s_min) * sig))
    assert state.units == tuple(blocks)
    np.testing.assert_allclose(np.asarray(state.factor), ref, rtol=1e-12)
    u, _ = opt.update(ones_like(params), state, params)
    np.testing.assert_allclose(np.asarray(u.layers[2].bias), ref[2], rtol=1e-12)


def test_alpha_decay_against_formula():
    params = mlp_params(7)
    wd = 0.1
    opt = ht.training.alpha_decay(wd, every=10)
    state = opt.init(params)
    m = ht.act.layer_metrics(params, estimator="alphadecay")
    incl = np.array([False, True, True, True, False])
    mult = ref_linear(np.asarray(m.alpha), incl, 0.667, 3.0)
    np.testing.assert_allclose(np.asarray(state.factor), mult, rtol=1e-12)
    g = ones_like(params)
    u, _ = opt.update(g, state, params)
    for j, lay in enumerate(u.layers):
        np.testing.assert_allclose(
            np.asarray(lay.weight),
            1 + wd * mult[j] * np.asarray(params.layers[j].weight),
            rtol=1e-12,
        )
        np.testing.assert_allclose(np.asarray(lay.bias), 1.0)  # other leaves: no decay


def test_argument_errors():
    with pytest.raises(ValueError, match="every"):
        ht.training.temp_balance(every=0)
    with pytest.raises(ValueError, match="map"):
        ht.training.temp_balance(every=1, map="cubic")
    with pytest.raises(ValueError, match="r_min"):
        ht.training.temp_balance(every=1, r_min=float("nan"))
    with pytest.raises(ValueError, match="on_nan"):
        ht.training.temp_balance(every=1, on_nan="ignore")
    with pytest.raises(ValueError, match="temperature"):
        ht.training.model_balancing(every=1, blocks="x", s_min=1, s_max=1, temperature=0)
    with pytest.raises(ValueError, match="weight_decay"):
        ht.training.alpha_decay("0.1")
    params = mlp_params(8)
    opt = ht.training.temp_balance(every=1)
    s = opt.init(params)
    with pytest.raises(ValueError, match="params"):
        opt.update(ones_like(params), s)
    with pytest.raises(ValueError, match="no layer selected"):
        opt.init({"b": jnp.zeros(3)})
    with pytest.raises(ValueError, match="follow"):
        ht.training.temp_balance(every=1, follow={"layers.0.bias": "nope"}).init(params)
