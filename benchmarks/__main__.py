"""Entry point of ``python -m benchmarks``: runs the call-site suite (see ``--help``)."""

from __future__ import annotations

import sys

from benchmarks.callsite import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
