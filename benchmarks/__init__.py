"""The side-by-side performance suite of fapilog-otel.

Run it with ``make bench`` or ``python -m benchmarks [--quick]``. Each module measures one
stage of the performance budget in ``docs`` against the libraries people would otherwise
use, in the same process and the same run, so the ratios are comparable even when the
machine is not quiet. Results are printed as a table and kept as JSON under
``benchmarks/results/`` (not versioned).
"""
