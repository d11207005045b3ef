"""Spectra of weight and sample matrices: ESDs, singular values, top eigenvectors, histograms,
empirical CDFs."""

from ._density import Histogram as Histogram
from ._density import ecdf as ecdf
from ._density import histogram as histogram
from ._density import ks_distance as ks_distance
from ._density import ks_statistic as ks_statistic
from ._eigenvectors import Eigenpairs as Eigenpairs
from ._eigenvectors import top_eigenvectors as top_eigenvectors
from ._esd import esd as esd
from ._esd import gram as gram
from ._esd import oriented as oriented
from ._esd import singular_values as singular_values
