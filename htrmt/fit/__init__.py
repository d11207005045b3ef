from ._marchenko_pastur import MarchenkoPasturFit as MarchenkoPasturFit
from ._marchenko_pastur import marchenko_pastur as marchenko_pastur
from ._powerlaw import PowerLawFit as PowerLawFit
from ._powerlaw import PowerLawScan as PowerLawScan
from ._powerlaw import powerlaw as powerlaw
from ._powerlaw import powerlaw_scan as powerlaw_scan
from ._tails import TailFit as TailFit
from ._tails import fit_tail as fit_tail
