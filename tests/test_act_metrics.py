"""Per-layer metrics of a parameter pytree: selection, batching, jit, frameworks."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.core import Literal

import htrmt as ht


class CNN(eqx.Module):
    convs: tuple
    fcs: tuple
    norm: eqx.nn.LayerNorm

    def __init__(self, key):
        k = jax.random.split(key, 5)
        self.convs = (
            eqx.nn.Conv2d(3, 16, 3, key=k[0]),
            eqx.nn.Conv2d(16, 16, 3, key=k[1]),
            eqx.nn.Conv2d(16, 16, 3, key=k[2]),
        )
        self.fcs = (eqx.nn.Linear(64, 64, key=k[3]), eqx.nn.Linear(64, 10, key=k[4]))
        self.norm = eqx.nn.LayerNorm(64)


def per_layer_reference(params, est):
    out = []
    for lay in ht.act.select_layers(params):
        leaf = jax.tree_util.tree_leaves(params)[lay.index]
        out.append(ht.act.hill_fit(ht.act.layer_esd(ht.act.as_slices(leaf, lay), est), est))
    return out


@pytest.mark.parametrize(
    "est", ["tempbalance", pytest.param("goodness-of-fit", marks=pytest.mark.slow)]
)
def test_layer_metrics_equals_per_layer_loop(est):
    model = CNN(jax.random.key(0))
    m = ht.act.layer_metrics(model, estimator=est)
    assert m.names == (
        "convs.0.weight", "convs.1.weight", "convs.2.weight", "fcs.0.weight", "fcs.1.weight"
    )  # fmt: skip
    assert m.num_params == (432, 2304, 2304, 4096, 640)
    ref = per_layer_reference(model, est)
    for j, r in enumerate(ref):
        assert float(m.alpha[j]) == pytest.approx(float(r.alpha), rel=1e-12)
        assert float(m.D[j]) == pytest.approx(float(r.D), rel=1e-12)
    # ESD sizes: 9·min(out, in) per conv, min(out, in) per dense layer
    assert m.size.tolist() == [27, 144, 144, 64, 10]
    assert m.included.tolist() == [False, True, True, True, False]
    assert [ht.act.STATUS[s] for s in m.status.tolist()][0] == "too-small"


def test_layer_metrics_inside_jit_and_grad_step():
    model = CNN(jax.random.key(1))
    params = eqx.filter(model, eqx.is_array)

    @jax.jit
    def step(p):
        p = jax.tree_util.tree_map(lambda x: x * 1.01, p)
        return p, ht.act.layer_metrics(p).alpha

    p2, alpha = step(params)
    eager = ht.act.layer_metrics(p2).alpha
    np.testing.assert_allclose(np.asarray(alpha), np.asarray(eager), rtol=1e-12)


def test_flax_layouts_match_equinox():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((32, 80))  # (out, in)
    K = rng.standard_normal((16, 8, 3, 3))  # (out, in, kh, kw)
    torch_like = {"fc.weight": W, "conv.weight": K, "fc.bias": np.zeros(32)}
    flax_like = {
        "params": {
            "Dense_0": {"kernel": W.T, "bias": np.zeros(32)},
            "Conv_0": {"kernel": np.transpose(K, (2, 3, 1, 0))},  # (kh, kw, in, out)
        }
    }
    a = ht.act.layer_metrics(torch_like).as_dict()
    b = ht.act.layer_metrics(flax_like).as_dict()
    assert set(a) == {"fc.weight", "conv.weight"}
    assert set(b) == {"params.Dense_0.kernel", "params.Conv_0.kernel"}
    assert a["fc.weight"] == pytest.approx(b["params.Dense_0.kernel"], rel=1e-12)
    assert a["conv.weight"] == pytest.approx(b["params.Conv_0.kernel"], rel=1e-12)


def test_nnx_state():
    nnx = pytest.importorskip("flax.nnx")
    lin = nnx.Linear(64, 32, rngs=nnx.Rngs(0))
    m = ht.act.layer_metrics(nnx.state(lin, nnx.Param))
    assert m.names == ("kernel",)
    lam = ht.act.layer_esd(jnp.asarray(lin.kernel[...]).T)
    assert float(m.alpha[0]) == pytest.approx(float(ht.act.hill_fit(lam).alpha), rel=1e-12)


def test_filter_and_errors():
    model = CNN(jax.random.key(2))
    m = ht.act.layer_metrics(model, filter=r"^fcs\.")
    assert m.names == ("fcs.0.weight", "fcs.1.weight")
    m = ht.act.layer_metrics(model, filter=["convs.1.weight"])
    assert m.names == ("convs.1.weight",)
    with pytest.raises(ValueError, match="no layer selected"):
        ht.act.layer_metrics({"b": jnp.zeros(3)})
    with pytest.raises(ValueError, match="filter"):
        ht.act.select_layers(model, filter="(")
    with pytest.raises(ValueError, match="estimator"):
        ht.act.layer_metrics(model, estimator="x")
    # embeddings and norms are not layers by default
    emb = {"embed.weight": jnp.ones((100, 16)), "ln.weight": jnp.ones((16, 16))}
    with pytest.raises(ValueError, match="no layer selected"):
        ht.act.select_layers(emb)


def test_to_pandas():
    pytest.importorskip("pandas")
    df = ht.act.layer_metrics(CNN(jax.random.key(3))).to_pandas()
    assert list(df["name"])[0] == "convs.0.weight"
    assert df["status"].tolist()[0] == "too-small"


def test_mixed_and_16bit_dtypes():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((64, 64))
    params = {
        "a.weight": jnp.asarray(W, jnp.float32),
        "b.weight": jnp.asarray(W, jnp.float64),
        "c.weight": jnp.asarray(W, jnp.bfloat16),
    }
    m = ht.act.layer_metrics(params)
    assert m.alpha.dtype == jnp.float64
    a, b, c = m.alpha.tolist()
    assert a == pytest.approx(b, rel=1e-4)
    assert c == pytest.approx(b, rel=0.05)  # bf16 weights, float32 spectrum
    assert ht.act.layer_esd(params["c.weight"]).dtype == jnp.float32


def _has_solver(eqn) -> bool:
    if eqn.primitive.name in ("eigh", "svd"):
        return True
    subs = [p for p in eqn.params.values() if hasattr(p, "jaxpr") or hasattr(p, "eqns")]
    return any(_has_solver(e) for p in subs for e in getattr(p, "jaxpr", p).eqns)


def _eigensolver_order(jaxpr) -> list[bool]:
    """For each batched eigensolver after the first (in program order), whether its input
    depends on the previous one's output: then XLA cannot run them at the same time."""
    eqns = jaxpr.eqns
    solvers = [i for i, e in enumerate(eqns) if _has_solver(e)]
    depends_on: dict = {}  # var -> set of solver indices it depends on
    for i, e in enumerate(eqns):
        deps = set()
        for v in e.invars:
            if not isinstance(v, Literal):
                deps |= depends_on.get(v, set())
        if i in solvers:
            deps = deps | {i}
        for v in e.outvars:
            depends_on[v] = deps
    out = []
    for a, b in zip(solvers, solvers[1:]):
        ins = set().union(*(depends_on.get(v, set()) for v in eqns[b].invars
                            if not isinstance(v, Literal)))  # fmt: skip
        out.append(a in ins)
    return out


@pytest.mark.parametrize(
    "est",
    [
        pytest.param("tempbalance", marks=pytest.mark.slow),
        "alphapruning",
        pytest.param("farms", marks=pytest.mark.slow),
    ],
)
def test_layer_groups_diagonalised_one_after_another(est):
    # jaxlib's CPU LAPACK kernels block a thread-pool thread per batched call: two batched
    # eigensolvers running at once deadlocked a 2-core machine (all-MiniLM-L6-v2's three
    # shape groups, about half the runs). Each group must wait for the previous one's output.
    rng = np.random.default_rng(0)
    params = {
        "a.weight": jnp.asarray(rng.standard_normal((3, 48, 48)), jnp.float32),
        "b.weight": jnp.asarray(rng.standard_normal((96, 48)), jnp.float32),
        "c.weight": jnp.asarray(rng.standard_normal((48, 96)), jnp.float32),
    }
    params = {f"l{i}.weight": params["a.weight"][i] for i in range(3)} | {
        k: v for k, v in params.items() if k != "a.weight"
    }
    est_ = ht.act.get_estimator(est)
    layers = ht.act.select_layers(params, None)
    leaves = jax.tree_util.tree_leaves(params)
    jaxpr = jax.make_jaxpr(lambda lv: ht.act.metrics_of_layers(lv, layers, est_))(leaves)
    order = _eigensolver_order(jaxpr.jaxpr)
    assert len(order) == 2 and all(order)
    m = ht.act.layer_metrics(params, estimator=est)
    ref = [ht.act.layer_metrics({n: params[n]}, estimator=est).alpha[0] for n in m.names]
    # a batch of 3 against batches of 1: LAPACK round-off only
    np.testing.assert_allclose(np.asarray(m.alpha), np.asarray(ref), rtol=1e-5)
