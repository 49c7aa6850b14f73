"""``python -m fapilog_otel``: the ``fapilog-otel`` command."""

from __future__ import annotations

import sys

from fapilog_otel.cli import main

if __name__ == "__main__":
    sys.exit(main())
