"""The paper reproductions: every one runs in --quick mode and meets its expected numbers.

Each reproduction runs in a subprocess (as a user runs it: float32, no test-session dtype
settings) into a temporary output folder; its ``results.json`` must show every check of
``expected.json`` passing. The tolerances of the checks come from the run-to-run spread
measured over seeds (see each README); the checks' false-failure rate is stated there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import paper_repro
from paper_repro import _common as C

ROOT = Path(__file__).resolve().parent.parent
PAPERS = paper_repro.available()


def _run(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    extra = os.environ.get("PYTHONPATH")
    path = str(ROOT) + (os.pathsep + extra if extra else "")  # keeps optional weight packages
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": path}
    env.pop("JAX_ENABLE_X64", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


# every reproduction runs --quick in the default suite, all in one process as
# ``python -m paper_repro --quick`` runs them: they load the same models and compile many of the
# same programs (measured on 2 cores: 72 s one process per paper, 62 s in one)
PRUNING = ("alphapruning", "farms")
QUICK = [tuple(PAPERS)]


def test_both_papers_are_present():
    assert PAPERS == [
        "alphapruning",
        "farms",
        "implicit_self_regularization",
        "sdm2020",
        "tempbalance",
    ]


def _skipped_parts(paper: str) -> set[str]:
    """Parts a reproduction skips here: ``minilm`` without the weights package."""
    if paper in PRUNING:
        from paper_repro import _pruning

        return set() if _pruning.minilm_available() else {"minilm"}
    return set()


@pytest.mark.parametrize("paper", PAPERS)
def test_expected_json_is_well_formed(paper):
    exp = C.load_expected(ROOT / "paper_repro" / paper)
    assert exp["title"] and exp["checks"]
    for name, chk in exp["checks"].items():
        assert chk["kind"] in C.KINDS, name
        assert chk["value"].split(".")[0] == chk["part"], name
        assert any(mode in chk for mode in C.MODES), name
        for mode in C.MODES:
            if mode not in chk:  # a check of one mode only (the README says why)
                continue
            spec = chk[mode]
            if chk["kind"] == "one_of":
                assert isinstance(spec["expected"], list) and spec["expected"], name
            else:
                assert isinstance(spec["expected"], (int, float)), name
                assert spec.get("tol", 0.0) >= 0.0, name


@pytest.mark.parametrize("paper", PAPERS)
def test_readme_states_every_check(paper):
    readme = (ROOT / "paper_repro" / paper / "README.md").read_text()
    exp = C.load_expected(ROOT / "paper_repro" / paper)
    for part in ("Claim", "Script", "Expected", "differs"):
        assert part in readme, part
    for name in exp["checks"]:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("papers", QUICK, ids="+".join)
def test_quick_repro_meets_expected_numbers(papers, tmp_path):
    out = _run(["-m", "paper_repro", *papers, "--quick", "--out", str(tmp_path)])
    for paper in papers:
        folder = tmp_path / "paper_repro" / paper / "quick"
        assert (folder / "results.json").exists(), out.stdout[-3000:] + out.stderr[-3000:]
        res = json.loads((folder / "results.json").read_text())
        skipped = _skipped_parts(paper)
        bad = [
            (r["name"], r["expected"], r["tol"], r["obtained"], r["status"])
            for r in res["checks"]
            if r["status"] not in ("pass", "no expectation in this mode")
            and not (r["status"] == "not run" and r["part"] in skipped)
        ]
        assert not bad, (paper, bad)
        checks = C.load_expected(ROOT / "paper_repro" / paper)["checks"]
        want = sum("quick" in c and c["part"] not in skipped for c in checks.values())
        assert res["num_pass"] == want > 0, paper
        assert (folder / "results.md").exists() and (folder / "results.meta.json").exists()
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"{len(papers)} of {len(papers)} reproductions passed" in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("paper", PAPERS)
def test_quick_repro_rerun_reads_finished_parts(paper, tmp_path):
    # the default suite runs each reproduction once (above); the reuse of finished parts is
    # unit-tested by test_cached_part_reuses_only_a_finished_part_with_the_same_config
    first = _run(["-m", "paper_repro", paper, "--quick", "--out", str(tmp_path)])
    assert first.returncode == 0, first.stderr[-3000:]
    folder = tmp_path / "paper_repro" / paper / "quick"
    res = json.loads((folder / "results.json").read_text())
    again = _run(["-m", "paper_repro", paper, "--quick", "--out", str(tmp_path)])
    assert again.returncode == 0, again.stderr[-3000:]
    parts = sorted(p.stem[len("part_") :] for p in folder.glob("part_*.json"))
    assert parts
    for p in parts:
        assert f"[{p}] finished earlier" in again.stdout, (p, again.stdout[-2000:])
    assert "running ..." not in again.stdout
    res2 = json.loads((folder / "results.json").read_text())
    assert [r["obtained"] for r in res2["checks"]] == [r["obtained"] for r in res["checks"]]


def test_unknown_name_lists_valid_ones():
    out = _run(["-m", "paper_repro", "no_such_paper"])
    assert out.returncode == 2
    assert "implicit_self_regularization" in out.stderr and "sdm2020" in out.stderr


# ------------------------------------------------------------------------------------------
# The plumbing: checks and cached parts
# ------------------------------------------------------------------------------------------


def _expected(kind, spec):
    return {
        "checks": {"c": {"part": "p", "value": "p.v", "what": "w", "kind": kind, "quick": spec}}
    }


@pytest.mark.parametrize(
    ("kind", "spec", "value", "status"),
    [
        ("approx", {"expected": 1.0, "tol": 0.1}, 1.09, "pass"),
        ("approx", {"expected": 1.0, "tol": 0.1}, 1.11, "FAIL"),
        ("approx", {"expected": 1.0, "tol": 0.1}, float("nan"), "FAIL"),
        ("approx", {"expected": 1.0, "tol": 0.1}, None, "FAIL"),
        ("min", {"expected": 0.5, "tol": 0.0}, 0.51, "pass"),
        ("min", {"expected": 0.5, "tol": 0.0}, 0.49, "FAIL"),
        ("max", {"expected": 0.5, "tol": 0.1}, 0.59, "pass"),
        ("max", {"expected": 0.5, "tol": 0.1}, 0.61, "FAIL"),
        ("one_of", {"expected": ["a", "b"]}, "b", "pass"),
        ("one_of", {"expected": ["a", "b"]}, "c", "FAIL"),
    ],
)
def test_evaluate_checks(kind, spec, value, status):
    rows = C.evaluate_checks(_expected(kind, spec), {"p": {"v": value}}, "quick")
    assert rows[0]["status"] == status


def test_evaluate_checks_reports_parts_not_run_and_bad_kinds():
    rows = C.evaluate_checks(_expected("min", {"expected": 0.0}), {}, "quick")
    assert rows[0]["status"] == "not run"
    rows = C.evaluate_checks(_expected("min", {"expected": 0.0}), {"p": {}}, "quick")
    assert rows[0]["status"].startswith("missing")
    with pytest.raises(ValueError, match="kind"):
        C.evaluate_checks(_expected("near", {"expected": 0.0}), {"p": {"v": 0}}, "quick")


def test_cached_part_reuses_only_a_finished_part_with_the_same_config(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"v": len(calls)}

    r1 = C.cached_part(tmp_path, "x", {"n": 1}, compute, force=False)
    r2 = C.cached_part(tmp_path, "x", {"n": 1}, compute, force=False)
    assert (r1["v"], r1["cached"], r2["v"], r2["cached"]) == (1, False, 1, True)
    r3 = C.cached_part(tmp_path, "x", {"n": 2}, compute, force=False)  # config changed
    assert (r3["v"], r3["cached"]) == (2, False)
    r4 = C.cached_part(tmp_path, "x", {"n": 2}, compute, force=True)
    assert r4["v"] == 3
    # an interrupted write leaves no part file (atomic): the part is simply run again
    (tmp_path / "part_x.json").write_text("{truncated")
    r5 = C.cached_part(tmp_path, "x", {"n": 2}, compute, force=False)
    assert (r5["v"], r5["cached"]) == (4, False)


def test_regression_statistics_against_scipy():
    import numpy as np
    from scipy import stats

    from paper_repro.sdm2020.run import regression

    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    y = 0.3 * x + rng.normal(size=12)
    r = regression(x, y)
    lr = stats.linregress(x, y)
    np.testing.assert_allclose(
        [r["slope"], r["intercept"], r["r2"]], [lr.slope, lr.intercept, lr.rvalue**2], rtol=1e-10
    )
    np.testing.assert_allclose(r["rmse"], np.sqrt(np.mean((y - lr.slope * x - lr.intercept) ** 2)))
    np.testing.assert_allclose(r["tau"], stats.kendalltau(x, y).statistic)


@pytest.mark.parametrize("paper", PAPERS)
def test_expected_numbers_follow_the_stated_rule(paper):
    """approx checks: expected = mean of the recorded seed values, tol = K × their sd; every
    declared check is in expected.json and nothing else."""
    import importlib

    import numpy as np

    from paper_repro._tolerances import K

    mod = importlib.import_module(f"paper_repro.{paper}.run")
    exp = C.load_expected(ROOT / "paper_repro" / paper)
    assert list(exp["checks"]) == list(mod.CHECKS)
    for name, chk in exp["checks"].items():
        if chk["kind"] != "approx":
            assert chk["full"]["expected"] == mod.CHECKS[name]["spec"]["expected"], name
            continue
        seeds = np.asarray(chk["quick"]["seeds"])
        assert seeds.size >= 5, name
        np.testing.assert_allclose(chk["quick"]["expected"], seeds.mean(), atol=1e-4)
        np.testing.assert_allclose(chk["quick"]["tol"], K * seeds.std(ddof=1), atol=2e-4)
        assert chk["quick"]["tol"] > 0, name
