"""Training with per-layer rates and decays from the layers' ESD tails (optax transformations).

- ``temp_balance``: per-layer learning-rate scale from α (TempBalance).
- ``model_balancing``: per-block learning-rate scale from the blocks' mean α (Model Balancing).
- ``alpha_decay``: per-layer decoupled weight decay from α (AlphaDecay).
- ``map_alpha``: the α → factor maps; ``balance_factors``: the current factors of a state.

Each composes with ``optax.chain`` and any base optimizer and schedule, keeps α and its
factors in its state (:class:`BalanceState`) and recomputes them inside ``update`` every
``every`` steps, on the device.
"""

from ._balance import MAPS as MAPS
from ._balance import BalanceState as BalanceState
from ._balance import alpha_decay as alpha_decay
from ._balance import balance_factors as balance_factors
from ._balance import map_alpha as map_alpha
from ._balance import model_balancing as model_balancing
from ._balance import temp_balance as temp_balance

__all__ = [
    "BalanceState",
    "MAPS",
    "alpha_decay",
    "balance_factors",
    "map_alpha",
    "model_balancing",
    "temp_balance",
]
