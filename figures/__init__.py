"""One script per figure (``figures/fig_<name>.py``, each with ``main(argv=None)``).

``python -m figures [NAMES] [--quick] [--out DIR]`` (or ``htrmt figures``) regenerates all or
some of them. Figure scripts read cached simulation data and run the simulation that produces it
when it is missing.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["available", "run"]


def available() -> list[str]:
    """Names of the figure scripts (``fig_<name>.py`` -> ``<name>``)."""
    import figures

    return sorted(
        info.name[4:]
        for info in pkgutil.iter_modules(figures.__path__)
        if info.name.startswith("fig_")
    )


def run(names: list[str] | None = None, *, quick: bool = False, out: str = "out/figures") -> dict:
    """Regenerate figures; returns ``{name: exit status}`` (0 = success).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    valid = available()
    names = list(names) if names else valid
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; valid names: {', '.join(valid)}")
    status = {}
    for name in names:
        mod = importlib.import_module(f"figures.fig_{name}")
        argv = ["--out", out] + (["--quick"] if quick else [])
        print(f"[figures] {name} ...", flush=True)
        try:
            rc = mod.main(argv)
        except SystemExit as err:  # argparse errors
            rc = err.code if isinstance(err.code, int) else 1
        status[name] = int(rc or 0)
    return status
