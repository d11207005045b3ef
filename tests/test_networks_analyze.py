"""htrmt.analyze: phases and MP σ on Gaussian layers, α on Pareto layers, bad input, exports.

All synthetic layers share the shape (500, 250) so the fitters compile once for the module.
"""

import csv
import io
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht
from htrmt.networks import COLUMNS, analyze, fingers_test

SHAPE = (500, 250)


@pytest.fixture(scope="module")
def gaussian_report():
    keys = jax.random.split(jax.random.key(7), 2)
    layers = {
        f"g{i}.weight": np.asarray(ht.ensembles.gaussian(k, SHAPE, sigma=0.5, dtype=jnp.float64))
        for i, k in enumerate(keys)
    }
    layers["g0.bias"] = np.zeros(SHAPE[0])
    return analyze(layers)


@pytest.fixture(scope="module")
def pareto_report():
    # µ = 1.5 (very heavy tailed): α = µ/2 + 1 = 1.75 already at this size (THEORY §3)
    P = ht.ensembles.pareto(jax.random.key(11), SHAPE, mu=1.5, dtype=jnp.float64)
    return analyze({"p.weight": np.asarray(P)})


def test_gaussian_layers_are_random_like_with_mp_sigma(gaussian_report):
    rep = gaussian_report
    assert [r.name for r in rep.layers] == ["g0.weight", "g1.weight"]
    assert [s.name for s in rep.skipped] == ["g0.bias"]
    M = SHAPE[1]
    for r in rep.layers:
        assert (r.N, r.M, r.Q, r.num_evals, r.num_slices) == (500, 250, 2.0, 250, 1)
        assert r.phase == "random-like", r
        # σ from the bulk: its error is set by the edge fluctuations, O(M^(-2/3)) = 2.5% at
        # M = 250; fixed key, deterministic.
        assert abs(r.sigma_mp / 0.5 - 1) < M ** (-2 / 3), r.sigma_mp
        assert r.status == "ok"
    assert rep.summary.phases == {"random-like": 2}


def test_pareto_layer_alpha_near_calibrated(pareto_report):
    (r,) = pareto_report.layers
    assert r.status == "ok" and r.phase == "heavy-tailed"
    # the xmin search widens the spread to 1.2-1.6x the asymptotic σ (THEORY §4): 3 × 1.6 σ band
    assert abs(r.alpha - 1.75) < 3 * 1.6 * r.sigma, (r.alpha, r.sigma)
    assert r.alpha_weighted == pytest.approx(r.alpha * math.log10(r.lambda_max), rel=1e-12)
    assert r.num_pl_spikes >= 10


def test_normalization_changes_norms_not_alpha(pareto_report):
    P = ht.ensembles.pareto(jax.random.key(11), SHAPE, mu=1.5, dtype=jnp.float64)
    (r_none,) = analyze({"p.weight": np.asarray(P)}, normalization="none").layers
    (r_n,) = pareto_report.layers
    N = SHAPE[0]
    assert r_none.alpha == pytest.approx(r_n.alpha, rel=1e-9)
    assert r_none.lambda_max == pytest.approx(N * r_n.lambda_max, rel=1e-9)
    assert r_none.log_norm == pytest.approx(r_n.log_norm + math.log10(N), rel=1e-9)
    assert r_none.sigma_mp == pytest.approx(math.sqrt(N) * r_n.sigma_mp, rel=1e-6)
    assert r_none.phase == r_n.phase


def test_small_layers_get_a_status_and_the_rest_goes_on(gaussian_report):
    rng = np.random.default_rng(0)
    layers = {
        "tiny.weight": rng.standard_normal((5, 4)),
        "vec.weight": rng.standard_normal((9, 1)).T.copy().reshape(1, 9) * np.ones((1, 9)),
        "big.weight": np.asarray(
            ht.ensembles.gaussian(jax.random.key(3), SHAPE, dtype=jnp.float64)
        ),
    }
    rep = analyze(layers)
    by = {r.name: r for r in rep.layers}
    assert by["tiny.weight"].status == "too-small"
    assert math.isnan(by["tiny.weight"].alpha)
    assert "eigenvalues" in by["tiny.weight"].warning
    assert by["big.weight"].status == "ok"
    assert rep.summary.num_ok == 1 and rep.summary.num_failed == 1
    # failed layers are excluded from the means, never averaged in as a sentinel
    assert rep.summary.alpha == pytest.approx(by["big.weight"].alpha)
    assert "vec.weight" in {s.name for s in rep.skipped}


def test_nan_weights_name_the_layer():
    W = np.ones((20, 10))
    W[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"layer 'enc.weight'.*NaN or Inf"):
        analyze({"ok.weight": np.eye(20)[:, :10], "enc.weight": W})
    W[3, 4] = np.inf
    with pytest.raises(ValueError, match="enc.weight"):
        analyze({"enc.weight": W})


def test_bad_options():
    W = {"w": np.eye(20)}
    with pytest.raises(ValueError, match="normalization"):
        analyze(W, normalization="M")
    with pytest.raises(ValueError, match="needs a jax.random key"):
        analyze(W, bootstrap=10)
    with pytest.raises(ValueError, match="min_evals"):
        analyze(W, min_evals=1)
    with pytest.raises(ValueError, match="selects none"):
        analyze(W, layers=["other"])
    with pytest.raises(TypeError, match="dtype"):
        analyze(W, dtype="int32")
    with pytest.raises(ValueError, match="no 2-D weight"):
        analyze({"b": np.zeros(4)})


def test_workers_give_the_same_report():
    # Spectra computed in worker threads, layers fitted as they finish: same rows, same order.
    keys = jax.random.split(jax.random.key(3), 3)
    layers = {
        "a.weight": np.asarray(ht.ensembles.gaussian(keys[0], SHAPE, dtype=jnp.float64)),
        "b.weight": np.asarray(ht.ensembles.pareto(keys[1], SHAPE, mu=1.5, dtype=jnp.float64)),
        "c.weight": np.asarray(ht.ensembles.gaussian(keys[2], (40, 30), dtype=jnp.float64)),
        "tiny.weight": np.ones((3, 2)),
    }
    one = analyze(layers)
    two = analyze(layers, workers=3, progress=True)
    assert [r.name for r in two.layers] == list(layers)
    assert one.to_csv() == two.to_csv()
    with pytest.raises(ValueError, match="workers"):
        analyze(layers, workers=0)


def test_exports_roundtrip(gaussian_report, tmp_path):
    rep = gaussian_report
    text = rep.to_csv(tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text() == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(COLUMNS)
    assert float(rows[1]["alpha"]) == pytest.approx(rep.layers[1].alpha)
    data = json.loads(rep.to_json(tmp_path / "r.json"))
    assert data["normalization"] == "N" and data["conventions"] == "htrmt"
    assert [d["name"] for d in data["layers"]] == ["g0.weight", "g1.weight"]
    assert data["layers"][0]["alpha_no_fingers"] is None  # NaN is written as null
    assert data["skipped"] == [{"name": "g0.bias", "shape": [500], "reason": "bias"}]
    assert not list(tmp_path.glob("*.part"))
    pd = pytest.importorskip("pandas")
    df = rep.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(COLUMNS) and len(df) == 2
    assert "alpha_hat" in rep.table()


def test_fingers_test_false_alarm_rate_and_power():
    rng = np.random.default_rng(0)
    level, reps, n = 0.05, 400, 200
    alarms = 0
    for _ in range(reps):
        x = (1 - rng.random(n)) ** (-1 / 1.5)  # pure Pareto tail, α = 2.5, xmin = 1
        alarms += fingers_test(x, 1.0, level=level).num_fingers > 0
    # Bonferroni makes the test conservative: rate <= level. Binomial 3σ band on 400 trials
    # (false-failure probability ~1e-3).
    assert alarms / reps <= level + 3 * math.sqrt(level * (1 - level) / reps)
    x = (1 - rng.random(n)) ** (-1 / 1.5)
    ft = fingers_test(np.r_[x, 50 * x.max(), 80 * x.max()], 1.0)
    assert ft.num_fingers == 2 and ft.pvalue < 1e-3
    with pytest.raises(ValueError, match="level"):
        fingers_test(x, 1.0, level=1.5)


def test_fingers_reported_per_layer():
    # a Gaussian bulk with a heavy tail of 60 Pareto eigenvalues, plus three huge outliers
    rng = np.random.default_rng(5)
    M = 250
    U, _ = np.linalg.qr(rng.standard_normal((500, M)))
    V, _ = np.linalg.qr(rng.standard_normal((M, M)))
    lam = np.sort(rng.uniform(0.5, 1.0, M))
    lam[-60:] = np.sort(1.0 * (1 - rng.random(60)) ** (-1 / 1.5))
    lam[-3:] = lam[-4] * np.array([40.0, 60.0, 90.0])
    W = (U * np.sqrt(lam * 500)) @ V.T  # WᵀW/N has eigenvalues lam
    (r,) = analyze({"f.weight": W}).layers
    assert r.num_fingers >= 1 and r.fingers_pvalue < 0.01
    assert math.isfinite(r.alpha_no_fingers) and "finger" in r.warning


def test_bootstrap_error_bar_is_of_the_right_size(pareto_report):
    P = ht.ensembles.pareto(jax.random.key(11), SHAPE, mu=1.5, dtype=jnp.float64)
    (r,) = analyze({"p.weight": np.asarray(P)}, bootstrap=20, key=jax.random.key(0)).layers
    (r0,) = pareto_report.layers
    # the bootstrap spread must be of the order of the asymptotic σ (THEORY §4: 1.2-1.6x)
    assert 0.5 * r0.sigma < r.alpha_err < 4 * r0.sigma


def test_peer_conventions_match_weightwatcher():
    ww = pytest.importorskip("weightwatcher")
    torch = pytest.importorskip("torch")
    import logging

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    rng = np.random.default_rng(3)
    sd = {
        "a.weight": torch.from_numpy(rng.standard_t(3, SHAPE).astype(np.float32)),
        "b.weight": torch.from_numpy(rng.standard_t(2.5, SHAPE[::-1]).astype(np.float32)),
    }
    df = ww.WeightWatcher(model=sd).analyze()
    rep = analyze({k: v.double().numpy() for k, v in sd.items()}, peer_conventions=True)
    assert rep.normalization == "none" and rep.conventions == "weightwatcher"
    for _, row in df.iterrows():
        ours = rep[row["name"] + ".weight"]
        assert ours.alpha == pytest.approx(row["alpha"], abs=1e-6)
        assert ours.xmin == pytest.approx(row["xmin"], rel=1e-6)
        assert ours.num_pl_spikes == row["num_pl_spikes"]
        assert ours.lambda_max == pytest.approx(row["lambda_max"], rel=1e-6)
        assert ours.log_norm == pytest.approx(row["log_norm"], abs=1e-6)


@pytest.mark.slow
def test_analyze_equinox_and_default_model():
    rep = analyze(ht.networks.default_model())
    assert [r.name for r in rep.layers][:2] == ["conv1.weight", "conv2.weight"]
    conv1, conv2 = rep.layers[0], rep.layers[1]
    assert conv1.status == "too-small"  # 9 slices of 16×1: 9 eigenvalues of 1×1 Gram matrices
    assert (conv2.num_slices, conv2.num_evals, conv2.N, conv2.M) == (9, 144, 32, 16)
    assert rep.summary.num_ok >= 3
    assert math.isfinite(rep.summary.alpha_weighted)


def test_monitor_records_over_training():
    optax = pytest.importorskip("optax")
    import equinox as eqx

    # layer shapes (500, 250) and (2, 500): the first shares the compiled fits of this module,
    # the second is too small to fit
    X = jax.random.normal(jax.random.key(1), (32, SHAPE[1]), dtype=jnp.float64)
    y = X[:, :2]

    def loss(m, x, t):
        return jnp.mean((jax.vmap(m)(x) - t) ** 2)

    net = eqx.nn.MLP(SHAPE[1], 2, SHAPE[0], 1, key=jax.random.key(0), dtype=jnp.float64)
    net, mon = ht.networks.fit_with_monitor(
        net, optax.sgd(1e-2), loss, lambda e: [(X, y)], num_epochs=3, every=2
    )
    assert mon.steps == [0, 2, 3]
    steps, alpha = mon.series("alpha")
    assert steps == [0, 2, 3] and set(alpha) == {"layers.0.weight", "layers.1.weight"}
    assert alpha["layers.0.weight"].shape == (3,)
    _, ah = mon.summary_series("alpha_weighted")
    assert ah.shape == (3,)
    data = json.loads(mon.to_json())
    assert data["steps"] == [0, 2, 3] and len(data["layers"]) == 6
    with pytest.raises(ValueError, match="step must increase"):
        mon.record(1, net)
