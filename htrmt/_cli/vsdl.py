"""``htrmt vsdl`` (deprecated): the VSDL model has its own command, ``vsdl``."""

from __future__ import annotations

import argparse

from ._moved import register_moved


def register(sub: argparse._SubParsersAction) -> None:
    register_moved(
        sub, "vsdl", "vsdl", "(the command installed with the vsdl package; or python -m vsdl)"
    )
