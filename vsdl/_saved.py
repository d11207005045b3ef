"""A phase diagram computed, saved and read back: the function that the ``vsdl`` command and the
VSDL figure both call."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["QUICK", "compute_diagram", "load_diagram"]

QUICK = dict(n=40, replicas=4, sweeps=300, na=8, nt=5)
"""The grid and chain sizes of a quick diagram (``quick=True``)."""

_MC_FIELDS = (
    "epsilon",
    "epsilon_err",
    "overlap",
    "train_error",
    "acceptance",
    "tau_int",
    "drift",
    "equilibrated",
)


def _write_json_atomic(path: Path, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, default=float)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def compute_diagram(
    alpha: Sequence[float] | np.ndarray,
    tau: Sequence[float] | np.ndarray,
    out: str | os.PathLike,
    *,
    model: str = "ising",
    theory: str = "quenched",
    good_error: float = 0.2,
    seed: int = 0,
    n: int = 100,
    replicas: int = 8,
    sweeps: int = 1000,
    burn_in: int | None = None,
    monte_carlo: bool = True,
    quick: bool = False,
    progress: bool = False,
):
    """Compute (or resume) a phase diagram with its Monte Carlo and save it in ``out``.

    The theory is evaluated on the (``alpha``, ``tau``) grid (:func:`vsdl.phase_diagram`); the
    Monte Carlo (:func:`vsdl.simulate_diagram`) runs through the resumable sweep runner in
    ``out/sweep``, so calling again with the same arguments continues an interrupted run. The
    diagram is written to ``out/diagram.npz`` and its settings to ``out/diagram.json``.

    Args:
        alpha, tau: the loads and temperatures of the grid.
        out: the output folder (created).
        model, theory, good_error: as in :func:`vsdl.phase_diagram`.
        seed: seed of the Monte Carlo key.
        n, replicas, sweeps, burn_in: as in :func:`vsdl.simulate_diagram`.
        monte_carlo: False for the theory only.
        quick: a small diagram: :data:`QUICK` sizes, ``alpha`` and ``tau`` resampled on
            ``QUICK["na"]`` × ``QUICK["nt"]`` points of the same ranges.
        progress: show the sweep runner's progress bar.

    Returns:
        ``(diagram, meta)``: a :class:`vsdl.PhaseDiagram` and the settings written to
        ``diagram.json``.

    Raises:
        ValueError: Monte Carlo asked with a temperature ``tau <= 0`` on the grid.
    """
    import jax

    from htrmt.sweep import environment

    from . import _diagram

    alpha = np.asarray(alpha, dtype=float)
    tau = np.asarray(tau, dtype=float)
    if quick:
        n, replicas, sweeps = QUICK["n"], QUICK["replicas"], QUICK["sweeps"]
        alpha = np.linspace(alpha.min(), alpha.max(), QUICK["na"])
        tau = np.linspace(tau.min(), tau.max(), QUICK["nt"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sim = None
    if monte_carlo:
        if np.any(tau <= 0):
            raise ValueError(f"Monte Carlo needs tau > 0 on the grid, got tau={tau.tolist()}")
        sim = _diagram.simulate_diagram(
            jax.random.key(seed),
            alpha,
            tau,
            n=n,
            model=model,
            replicas=replicas,
            sweeps=sweeps,
            burn_in=burn_in,
            out=out / "sweep",
            progress=progress,
        )
    t_mc = time.perf_counter() - t0
    dgm = _diagram.phase_diagram(
        alpha, tau, model=model, theory=theory, good_error=good_error, simulation=sim
    )
    arrays: dict[str, Any] = {
        "alpha": dgm.alpha,
        "tau": dgm.tau,
        "epsilon_theory": dgm.epsilon,
        "phase": dgm.phase,
        "num_stable": dgm.num_stable,
    }
    if dgm.replicon is not None:
        arrays["replicon"] = dgm.replicon
    if dgm.parisi_m is not None:
        arrays["parisi_m"] = dgm.parisi_m
    for name, (tl, al) in dgm.lines.items():
        arrays[f"line_{name}_tau"] = np.asarray(tl, float)
        arrays[f"line_{name}_alpha"] = np.asarray(al, float)
    if sim is not None:
        for f in _MC_FIELDS:
            arrays[f"mc_{f}"] = np.asarray(getattr(sim, f))
    np.savez(out / "diagram.npz", **arrays)
    meta = {
        "model": model,
        "theory": theory,
        "good_error": good_error,
        "seed": seed,
        "n": n,
        "replicas": replicas,
        "sweeps": sweeps,
        "burn_in": burn_in if burn_in is not None else sweeps // 2,
        "monte_carlo": sim is not None,
        "quick": bool(quick),
        "x64": bool(jax.config.jax_enable_x64),  # type: ignore[attr-defined]
        "phases": list(_diagram.PHASES),
        "seconds_monte_carlo": t_mc,
        "environment": environment(),
        "equilibrated_fraction": float(np.mean(sim.equilibrated)) if sim is not None else None,
    }
    _write_json_atomic(out / "diagram.json", meta)
    return dgm, meta


def load_diagram(out: str | os.PathLike):
    """Read a diagram saved by :func:`compute_diagram` back; returns ``(diagram, meta)``."""
    from ._diagram import PhaseDiagram
    from ._simulation import MonteCarloResult

    out = Path(out)
    z = np.load(out / "diagram.npz")
    meta = json.loads((out / "diagram.json").read_text())
    lines = {}
    for k in z.files:
        if k.startswith("line_") and k.endswith("_tau"):
            name = k[5:-4]
            lines[name] = (z[k], z[f"line_{name}_alpha"])
    sim = None
    if meta["monte_carlo"]:
        A, T = np.meshgrid(z["alpha"], z["tau"])
        sim = MonteCarloResult(
            alpha=A,
            tau=T,
            epsilon=z["mc_epsilon"],
            epsilon_err=z["mc_epsilon_err"],
            epsilon_replicas=np.empty(A.shape + (0,)),
            overlap=z["mc_overlap"],
            train_error=z["mc_train_error"],
            acceptance=z["mc_acceptance"],
            tau_int=z["mc_tau_int"],
            drift=z["mc_drift"],
            equilibrated=z["mc_equilibrated"],
            n=int(meta["n"]),
            n_measure=int(meta["sweeps"]) - int(meta["burn_in"]),
            model=meta["model"],
        )
    dgm = PhaseDiagram(
        z["alpha"],
        z["tau"],
        meta["model"],
        meta["theory"],
        float(meta["good_error"]),
        z["epsilon_theory"],
        z["phase"],
        z["num_stable"],
        lines,
        sim,
        z["replicon"] if "replicon" in z.files else None,
        z["parisi_m"] if "parisi_m" in z.files else None,
    )
    return dgm, meta
