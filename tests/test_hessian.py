"""Lanczos, stochastic Lanczos quadrature and the Hessian / Gauss–Newton operators.

References: dense ``eigvalsh`` and ``jax.hessian``; the Marchenko–Pastur and semicircle CDFs for
matrices with known spectra, reached through the same matrix-free path as a network's Hessian.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht

H = ht.hessian


def _ks_at_nodes(q, law_cdf):
    """sup |F_SLQ − F_law| over the nodes (both one-sided limits of the step function)."""
    nodes = np.unique(np.asarray(q.nodes).ravel())
    Fl = np.asarray(law_cdf(nodes))
    hi = np.asarray(q.cdf(nodes))
    lo = np.asarray(q.cdf(np.nextafter(nodes, -np.inf)))
    return max(np.max(np.abs(hi - Fl)), np.max(np.abs(lo - Fl)))


def _slq_tolerance(q, dim, n_eig_noise):
    # Chebyshev–Markov–Stieltjes: a Gauss rule's CDF is within its largest weight of the probe's
    # spectral CDF; the probe CDF differs from the ESD by ~√(2/(p·d)) (1% KS quantile 1.63), and the
    # finite-size ESD from the law by n_eig_noise.
    cms = float(jnp.mean(jnp.max(q.weights, -1)))
    return cms + 1.63 * math.sqrt(2.0 / (q.num_probes * dim)) + n_eig_noise


@pytest.mark.parametrize("dtype", [pytest.param(jnp.float32, marks=pytest.mark.slow), jnp.float64])
def test_slq_marchenko_pastur(key, dtype):
    N, M = 2000, 1000
    W = ht.ensembles.gaussian(key, (N, M), dtype=dtype)
    q = H.slq(
        jax.random.fold_in(key, 1),
        lambda v: W.T @ (W @ v) / N,
        dim=M,
        dtype=dtype,
        num_steps=60,
        num_probes=6,
    )
    assert q.nodes.dtype == dtype and q.nodes.shape == (6, 60)
    np.testing.assert_allclose(np.asarray(q.weights.sum(-1)), 1.0, rtol=1e-4)
    ks = _ks_at_nodes(q, lambda x: ht.laws.marchenko_pastur.cdf(x, 2.0))
    # finite-M ESD vs MP: eigenvalue rigidity, ~ a few/M
    assert ks < _slq_tolerance(q, M, 5.0 / M), ks
    # the first moment is exact per probe (Hutchinson): mean over probes vs tr(X)/M, within 4 CLT
    # standard deviations, Var = 2 Σ_{i≠j} X_ij² / (M² p) for Rademacher probes (false-failure <
    # 1e-4)
    X = np.asarray(W.T @ W / N, np.float64)
    off = np.sum(X**2) - np.sum(np.diag(X) ** 2)
    sd = math.sqrt(2 * off / (M**2 * q.num_probes))
    assert abs(float(q.moments(1)) - np.trace(X) / M) < 4 * sd + 1e-5


def test_slq_semicircle_and_density(key):
    N = 1000
    A = ht.ensembles.wigner(key, (N, N))
    q = H.slq(jax.random.fold_in(key, 2), lambda v: A @ v, dim=N, num_steps=60, num_probes=6)
    ks = _ks_at_nodes(q, lambda x: ht.laws.semicircle.cdf(x))
    assert ks < _slq_tolerance(q, N, 5.0 / N), ks
    x = np.linspace(-3, 3, 601)
    rho = np.asarray(q.density(x, 0.1))
    assert abs(np.trapezoid(rho, x) - 1) < 1e-3
    # broadened density vs the semicircle convolved with the same Gaussian (numerically)
    t = np.linspace(-2, 2, 4001)
    sc = np.asarray(ht.laws.semicircle.pdf(t))
    conv = np.array([np.trapezoid(sc * np.exp(-0.5 * ((xi - t) / 0.1) ** 2), t) for xi in x])
    conv /= 0.1 * math.sqrt(2 * math.pi)
    assert np.max(np.abs(rho - conv)) < 0.05


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_top_eigenvalues_match_dense(key, dtype):
    N = 600
    A = ht.ensembles.wigner(key, (N, N), dtype=dtype)
    ev = np.linalg.eigvalsh(np.asarray(A, np.float64))[::-1]
    tol = 1e-4 if dtype == jnp.float32 else 1e-9
    top = H.top_eigenvalues(jax.random.fold_in(key, 3), A, 4, num_steps=200, tol=tol)
    assert top.eigenvalues.dtype == dtype
    np.testing.assert_allclose(np.asarray(top.eigenvalues), ev[:4], atol=10 * tol * abs(ev[0]))
    # magnitude ordering
    mag = H.top_eigenvalues(
        jax.random.fold_in(key, 3), A, 2, num_steps=200, tol=tol, which="magnitude"
    )
    ref = ev[np.argsort(-np.abs(ev))][:2]
    np.testing.assert_allclose(np.asarray(mag.eigenvalues), ref, atol=10 * tol * abs(ev[0]))


def test_lanczos_exact_on_small_matrix_and_without_reorth(key):
    lam = jnp.linspace(1.0, 30.0, 30)
    Qm, _ = jnp.linalg.qr(jax.random.normal(key, (30, 30)))
    A = (Qm * lam) @ Qm.T
    T = H.lanczos(jax.random.fold_in(key, 4), A, 30)
    np.testing.assert_allclose(np.asarray(T.eigh()[0]), np.asarray(lam), atol=1e-8)
    T2 = H.lanczos(jax.random.fold_in(key, 4), A, 12, reorthogonalize=False)
    T3 = H.lanczos(jax.random.fold_in(key, 4), A, 12, reorthogonalize=True)
    # in exact arithmetic the two agree; in the first steps (before loss of orthogonality)
    # numerically
    np.testing.assert_allclose(np.asarray(T2.alpha[:6]), np.asarray(T3.alpha[:6]), rtol=1e-8)


def test_slq_probes_equal_individual_lanczos(key):
    A = ht.ensembles.wigner(key, (80, 80))
    q = H.slq(jax.random.fold_in(key, 5), A, num_steps=20, num_probes=3)
    for i, k in enumerate(jax.random.split(jax.random.fold_in(key, 5), 3)):
        th, w = H.lanczos(k, A, 20).quadrature()
        np.testing.assert_allclose(np.asarray(q.nodes[i]), np.asarray(th), atol=1e-12)
        np.testing.assert_allclose(np.asarray(q.weights[i]), np.asarray(w), atol=1e-12)


class _MLP(eqx.Module):
    l1: eqx.nn.Linear
    l2: eqx.nn.Linear

    def __init__(self, key, d_in=5, d_h=7, d_out=3):
        k1, k2 = jax.random.split(key)
        self.l1 = eqx.nn.Linear(d_in, d_h, key=k1)
        self.l2 = eqx.nn.Linear(d_h, d_out, key=k2)

    def __call__(self, x):
        return self.l2(jnp.tanh(self.l1(x)))


def _data(key, n=20):
    x = jax.random.normal(key, (n, 5))
    y = jax.random.randint(jax.random.fold_in(key, 1), (n,), 0, 3)
    return x, y


def _xent(logits, y):
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))


def _dense(op):
    return np.stack([np.asarray(op.matvec(e)) for e in np.eye(op.dim)], 1)


def test_hessian_and_gauss_newton_equinox_match_dense(key):
    model = _MLP(key)
    x, y = _data(jax.random.fold_in(key, 7))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    flat, unravel = jax.flatten_util.ravel_pytree(params)

    def loss_flat(p):
        return _xent(jax.vmap(eqx.combine(unravel(p), static))(x), y)

    op = H.hessian_operator(lambda m: _xent(jax.vmap(m)(x), y), model)
    assert op.dim == flat.size
    np.testing.assert_allclose(_dense(op), np.asarray(jax.hessian(loss_flat)(flat)), atol=1e-10)
    # vmap == loop, and the jitted matvec equals the eager forward-over-reverse product
    E = jnp.eye(op.dim)[:4]
    np.testing.assert_allclose(
        np.asarray(jax.vmap(op.matvec)(E)),
        np.stack([np.asarray(op.matvec(e)) for e in E]),
        atol=1e-12,
    )
    with jax.disable_jit():
        eager = jax.jvp(jax.grad(loss_flat), (flat,), (E[0],))[1]
    np.testing.assert_allclose(np.asarray(op.matvec(E[0])), np.asarray(eager), atol=1e-12)
    gn = H.gauss_newton_operator(lambda m: jax.vmap(m)(x), lambda out: _xent(out, y), model)
    J = jax.jacfwd(lambda p: jax.vmap(eqx.combine(unravel(p), static))(x))(flat).reshape(
        -1, flat.size
    )
    logits = jax.vmap(model)(x)
    HL = jax.hessian(lambda o: _xent(o.reshape(logits.shape), y))(logits.ravel())
    G = _dense(gn)
    np.testing.assert_allclose(G, np.asarray(J.T @ HL @ J), atol=1e-10)
    assert np.min(np.linalg.eigvalsh(G)) > -1e-10  # PSD for a convex output loss


def test_hessian_flax_nnx_matches_dense(key):
    # The model's own products at full float32 precision: on a GPU the default rounds them to
    # TF32, and the operator and jax.hessian round differently (1e-4 relative).
    with jax.default_matmul_precision("highest"):
        _hessian_flax_nnx_matches_dense(key)


def _hessian_flax_nnx_matches_dense(key):
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
    x = jax.random.normal(key, (10, 4), jnp.float32)  # nnx parameters are float32

    def loss(m):
        return jnp.mean(jnp.tanh(m(x)) ** 2)

    op = H.hessian_operator(loss, model)
    assert op.dim == 4 * 3 + 3
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    dense = jax.hessian(lambda p: loss(nnx.merge(graphdef, unravel(p), rest)))(flat)
    np.testing.assert_allclose(_dense(op), np.asarray(dense), rtol=1e-5, atol=1e-6)
    gn = H.gauss_newton_operator(lambda m: m(x), lambda o: jnp.mean(o**2), model)
    assert op.dtype == jnp.float32 and gn.matvec(jnp.ones(op.dim, jnp.float32)).dtype == jnp.float32
    assert np.min(np.linalg.eigvalsh(_dense(gn))) > -1e-5


def test_bad_input(key):
    model = _MLP(key)
    x, _ = _data(key)
    with pytest.raises(ValueError, match="scalar"):
        H.hessian_operator(lambda m: jax.vmap(m)(x), model)
    with pytest.raises(ValueError, match="scalar"):
        H.gauss_newton_operator(lambda m: jax.vmap(m)(x), lambda o: o**2, model)
    A = ht.ensembles.wigner(key, (300, 300))
    with pytest.raises(ValueError, match="too few Lanczos steps"):
        H.top_eigenvalues(key, A, 5, num_steps=20, tol=1e-8)
    q = H.slq(key, A, num_steps=10, num_probes=1)
    with pytest.raises(ValueError, match="too few Lanczos steps"):
        q.density(np.linspace(-2, 2, 5), 0.01)
    with pytest.raises(ValueError, match="num_steps"):
        H.slq(key, A, num_steps=400)
    with pytest.raises(ValueError, match="k must be"):
        H.top_eigenvalues(key, A, 30, num_steps=20)
    with pytest.raises(ValueError, match="dim"):
        H.slq(key, lambda v: v)
    with pytest.raises(ValueError, match="square"):
        H.lanczos(key, jnp.ones((3, 4)), 2)
    with pytest.raises(ValueError, match="sigma"):
        q.density([0.0], 0.0)


@pytest.mark.slow
def test_trained_network_bulk_near_zero_plus_outliers(key):
    # A 64-16-10 MLP on scikit-learn's digits, 300 Adam steps: the Hessian spectrum is a bulk near 0
    # plus a few outliers (Sagun et al. 2017; Ghorbani et al. 2019).
    datasets = pytest.importorskip("sklearn.datasets")
    optax = pytest.importorskip("optax")
    X, y = datasets.load_digits(return_X_y=True)
    X = jnp.asarray(X / 16.0)
    y = jnp.asarray(y)
    k1, k2 = jax.random.split(key)
    model = eqx.nn.MLP(64, 10, 16, 1, activation=jnp.tanh, key=k1)

    def loss(m):
        return _xent(jax.vmap(m)(X), y)

    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(m, s):
        g = eqx.filter_grad(loss)(m)
        u, s = opt.update(g, s, m)
        return eqx.apply_updates(m, u), s

    with jax.numpy_dtype_promotion("standard"):  # optax mixes its int step count with floats
        for _ in range(300):
            model, state = step(model, state)
    assert float(loss(model)) < 0.2
    op = H.hessian_operator(loss, model)
    top = H.top_eigenvalues(k2, op, 3, num_steps=80, tol=1e-3)
    q = H.slq(jax.random.fold_in(k2, 1), op, num_steps=60, num_probes=4)
    lam1 = float(top.eigenvalues[0])
    # bulk: at least 90% of the spectral mass within 1% of the top eigenvalue of 0
    mass = float(q.cdf(0.01 * lam1) - q.cdf(-0.01 * lam1 - 1e-30))
    assert mass > 0.9, (mass, lam1)
    # outliers (about C − 1 = 9 of them, under 1% of the 1210 parameters): the top eigenvalue is far
    # above the 97% quantile of the SLQ measure, which lies in the bulk
    nodes = np.asarray(q.nodes).ravel()
    w = np.asarray(q.weights).ravel() / q.num_probes
    order = np.argsort(nodes)
    q97 = nodes[order][np.searchsorted(np.cumsum(w[order]), 0.97)]
    assert lam1 > 10 * abs(q97), (lam1, q97)
