"""``python -m vsdl``: compute and plot load–temperature phase diagrams."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
