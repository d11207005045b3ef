"""One script per figure (``figures/fig_<name>.py``, each with ``main(argv=None)``).

Figure scripts only read data. Each declares the simulation outputs it plots in ``NEEDS``, a tuple
of :class:`Data` (like the rules of showyourwork): ``python -m figures [NAMES] [--quick]``
(:func:`run`) runs every missing simulation first, then draws. A figure script run on its own
(``python -m figures.fig_<name>``) plots existing data and names the command when it is missing.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import time
from pathlib import Path

__all__ = ["Data", "available", "needs", "run"]


@dataclasses.dataclass(frozen=True)
class Data:
    """One simulation output that a figure plots.

    Attributes:
        module: the ``sims`` module producing it; it defines ``data_path(name, *, quick, seed,
            root)`` (where the output lives) and ``simulate(name, *, quick, seed, root)``.
        name: the dataset within that module (``None`` for a module with one output).
    """

    module: str
    name: str | None = None

    def _mod(self):
        return importlib.import_module(self.module)

    def _args(self) -> tuple:
        return () if self.name is None else (self.name,)

    def path(self, *, quick: bool = False, seed: int = 0, root=None) -> Path:
        """Where the output lives."""
        return Path(self._mod().data_path(*self._args(), quick=quick, seed=seed, root=root))

    def exists(self, *, quick: bool = False, seed: int = 0, root=None) -> bool:
        return self.path(quick=quick, seed=seed, root=root).exists()

    def make(self, *, quick: bool = False, seed: int = 0, root=None) -> Path:
        """Run the simulation that writes the output; returns its path."""
        return Path(self._mod().simulate(*self._args(), quick=quick, seed=seed, root=root))

    def __str__(self) -> str:
        return self.module + (f" {self.name}" if self.name else "")


def available() -> list[str]:
    """Names of the figure scripts (``fig_<name>.py`` -> ``<name>``)."""
    here = str(Path(__file__).resolve().parent)
    return sorted(
        info.name[4:] for info in pkgutil.iter_modules([here]) if info.name.startswith("fig_")
    )


def needs(name: str) -> tuple[Data, ...]:
    """The simulation outputs that figure ``name`` plots (its module's ``NEEDS``)."""
    return tuple(importlib.import_module(f"figures.fig_{name}").NEEDS)


def run(
    names: list[str] | None = None, *, quick: bool = False, out: str = "out/figures", seed: int = 0
) -> dict:
    """Regenerate figures: missing simulation outputs first, then each figure.

    Returns:
        ``{name: exit status}`` (0 = success).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    valid = available()
    names = list(names) if names else valid
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; valid names: {', '.join(valid)}")
    todo: list[Data] = []
    for name in names:
        todo += [d for d in needs(name) if d not in todo]
    for data in todo:
        if not data.exists(quick=quick, seed=seed):
            print(f"[figures] simulating {data} ...", flush=True)
            t0 = time.perf_counter()
            data.make(quick=quick, seed=seed)
            print(f"[figures] simulated {data} in {time.perf_counter() - t0:.1f} s", flush=True)
    status = {}
    for name in names:
        mod = importlib.import_module(f"figures.fig_{name}")
        argv = ["--out", out, "--seed", str(seed)] + (["--quick"] if quick else [])
        print(f"[figures] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            rc = mod.main(argv)
        except SystemExit as err:  # argparse errors
            rc = err.code if isinstance(err.code, int) else 1
        print(f"[figures] {name} drawn in {time.perf_counter() - t0:.1f} s", flush=True)
        status[name] = int(rc or 0)
    return status
