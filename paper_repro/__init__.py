"""Reproductions of the papers' claims, one folder per paper.

Each ``paper_repro/<name>/`` holds ``README.md`` (the claim, the script, the expected numbers
and tolerances, a table of expected against obtained, what differs from the original and why),
``expected.json`` (the checks) and ``run.py`` (``main(argv=None)``, ``--quick`` for CI,
``--full``). ``python -m paper_repro [NAME ...] [--quick|--full]`` runs one, some or all; results
go to ``out/paper_repro/<name>/<mode>/`` (``results.json``, ``results.md``, one cached file per
part so that an interrupted run redoes only what was not finished).
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["available", "run"]

_HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the reproductions (folders with a ``run.py`` and an ``expected.json``)."""
    return sorted(
        p.name
        for p in _HERE.iterdir()
        if p.is_dir() and (p / "run.py").exists() and (p / "expected.json").exists()
    )


def run(names: list[str] | None = None, argv: list[str] | None = None) -> dict[str, int]:
    """Run reproductions; returns ``{name: exit status}`` (0: every check passed).

    Args:
        names: which (default all).
        argv: arguments passed to each ``run.main`` (e.g. ``["--quick"]``).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    valid = available()
    names = list(names) if names else valid
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown reproduction(s) {unknown}; valid names: {', '.join(valid)}")
    status = {}
    for name in names:
        mod = importlib.import_module(f"paper_repro.{name}.run")
        print(f"[paper_repro] {name} ...", flush=True)
        try:
            rc = mod.main(list(argv or []))
        except SystemExit as err:
            rc = err.code if isinstance(err.code, int) else 1
        status[name] = int(rc or 0)
    return status
