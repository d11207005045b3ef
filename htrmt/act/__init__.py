"""HT-SR metrics for methods that act on a network: the published estimator, on the device.

- ``Estimator`` / ``ESTIMATORS``: the conventions of the published ESD estimator ("PL_Alpha_Hill"
  of TempBalance, Model Balancing, AlphaDecay, AlphaPruning; FARMS windows) by name.
- ``hill_fit``: its Hill fit of one ESD (``median``, ``fix-finger``, ``goodness-of-fit``).
- ``layer_esd``: the pooled ESD of one layer under those conventions.
- ``select_layers`` / ``layer_metrics``: the layers of a parameter pytree and their metrics,
  in one compiled program (usable inside a jitted training step).

The optax transformations built on them are in :mod:`htrmt.training`, the pruning ratios and
masks in :mod:`htrmt.pruning`.
"""

from ._estimator import ESTIMATORS as ESTIMATORS
from ._estimator import FIT_MODES as FIT_MODES
from ._estimator import HILL_STATUS as HILL_STATUS
from ._estimator import Estimator as Estimator
from ._estimator import HillFit as HillFit
from ._estimator import Windows as Windows
from ._estimator import get_estimator as get_estimator
from ._estimator import hill_fit as hill_fit
from ._estimator import layer_esd as layer_esd
from ._estimator import window_starts as window_starts
from ._layers import Layer as Layer
from ._layers import as_slices as as_slices
from ._layers import leaf_names as leaf_names
from ._layers import select_layers as select_layers
from ._metrics import STATUS as STATUS
from ._metrics import LayerMetrics as LayerMetrics
from ._metrics import layer_metrics as layer_metrics
from ._metrics import metrics_of_layers as metrics_of_layers

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "FIT_MODES",
    "HILL_STATUS",
    "HillFit",
    "Layer",
    "LayerMetrics",
    "STATUS",
    "Windows",
    "as_slices",
    "get_estimator",
    "hill_fit",
    "layer_esd",
    "layer_metrics",
    "leaf_names",
    "metrics_of_layers",
    "select_layers",
    "window_starts",
]
