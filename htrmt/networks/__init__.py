"""Neural-network weights through Heavy-Tailed Self-Regularization.

- ``extract``: named weight matrices from equinox, flax (nnx, linen), PyTorch, dicts of arrays
  and ``.npz`` / ``.safetensors`` / ``.pt`` files (conv kernels per spatial slice or flattened).
- ``describe``: what would be analysed (names, kinds, shapes, dtypes, skipped tensors and why),
  from headers only; ``open_checkpoint``: a lazy view of files, shards and model folders.
- ``analyze``: one row per matrix (α, α̂, norms, ranks, MP fit, phase, fingers) and a summary.
- ``compare``: two checkpoints layer by layer (Δα, Δ log-norms, relative change, ‖A − B‖₂).
- ``fingers_test``: a Rényi log-spacing test for outlying top eigenvalues of a power-law tail.
- ``Monitor`` / ``fit_with_monitor``: per-layer metrics recorded at checkpoints during training.
- ``default_model``: the small equinox network shipped with the package.
"""

from ._analyze import MIN_EVALS as MIN_EVALS
from ._analyze import PEER_CONVENTIONS as PEER_CONVENTIONS
from ._analyze import analyze as analyze
from ._analyze import analyze_layer as analyze_layer
from ._analyze import layer_esd as layer_esd
from ._checkpoint import Checkpoint as Checkpoint
from ._checkpoint import open_checkpoint as open_checkpoint
from ._compare import Comparison as Comparison
from ._compare import ComparisonRow as ComparisonRow
from ._compare import compare as compare
from ._default import default_model as default_model
from ._default import default_model_path as default_model_path
from ._extract import CONV_MODES as CONV_MODES
from ._extract import Extraction as Extraction
from ._extract import LayerWeights as LayerWeights
from ._extract import Skipped as Skipped
from ._extract import extract as extract
from ._fingers import FingersTest as FingersTest
from ._fingers import fingers_test as fingers_test
from ._layout import KIND_OVERRIDES as KIND_OVERRIDES
from ._loaders import load_file as load_file
from ._monitor import Monitor as Monitor
from ._monitor import fit_with_monitor as fit_with_monitor
from ._plan import LayerSpec as LayerSpec
from ._plan import ModelPlan as ModelPlan
from ._plan import describe as describe
from ._report import COLUMNS as COLUMNS
from ._report import AnalysisReport as AnalysisReport
from ._report import LayerResult as LayerResult
from ._report import Summary as Summary

__all__ = [
    "AnalysisReport",
    "COLUMNS",
    "Checkpoint",
    "Comparison",
    "ComparisonRow",
    "KIND_OVERRIDES",
    "LayerSpec",
    "ModelPlan",
    "CONV_MODES",
    "Extraction",
    "FingersTest",
    "LayerResult",
    "LayerWeights",
    "MIN_EVALS",
    "Monitor",
    "PEER_CONVENTIONS",
    "Skipped",
    "Summary",
    "analyze",
    "analyze_layer",
    "compare",
    "default_model",
    "describe",
    "default_model_path",
    "extract",
    "fingers_test",
    "fit_with_monitor",
    "layer_esd",
    "load_file",
    "open_checkpoint",
]
