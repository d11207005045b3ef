"""Matplotlib views of spectra and analyses.

- ``plot_esd``: an ESD on log–log or linear axes with the power-law and/or MP fits overlaid.
- ``plot_xmin_scan``: α and D against xmin (robustness of a power-law fit).
- ``plot_layer``, ``plot_overview``: the panels of one layer and the one-page model overview of
  an :class:`htrmt.networks.AnalysisReport`; ``save_plots`` writes them as PNG files.
- ``html_report``: a self-contained HTML page gathering them (images embedded).
- ``plot_monitor``: α, α̂, entropy and phase over training (:class:`htrmt.networks.Monitor`).
"""

from ._esd import plot_esd as plot_esd
from ._esd import plot_xmin_scan as plot_xmin_scan
from ._report import PHASE_COLORS as PHASE_COLORS
from ._report import html_report as html_report
from ._report import plot_layer as plot_layer
from ._report import plot_monitor as plot_monitor
from ._report import plot_overview as plot_overview
from ._report import save_plots as save_plots

__all__ = [
    "PHASE_COLORS",
    "html_report",
    "plot_esd",
    "plot_layer",
    "plot_monitor",
    "plot_overview",
    "plot_xmin_scan",
    "save_plots",
]
