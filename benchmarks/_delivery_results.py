"""The rows of the delivery suite: what each case measured over its repeats, as a table.

:mod:`benchmarks.delivery` runs the cases and fills these rows; the columns are described
there.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks import _report

__all__ = [
    "BASELINE",
    "COMPLETE_BASELINE",
    "DeliveryResult",
    "EncodeResult",
    "delivery_notes",
    "format_tables",
    "record_encode",
]

BASELINE = "sdk-http"
COMPLETE_BASELINE = "sdk-http-bigq"


@dataclass
class DeliveryResult:
    """What one delivery case measured over its repeats, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""

    def median(self, name: str) -> float | None:
        """Median of one measured quantity over the repeats."""
        values = [s[name] for s in self.samples if s.get(name) is not None]
        return statistics.median(values) if values else None

    @property
    def delivered(self) -> list[int]:
        """The receiver's count in each repeat."""
        return [int(s["delivered"]) for s in self.samples]

    @property
    def records(self) -> int:
        """Records logged per repeat."""
        return int(self.samples[0]["records"]) if self.samples else 0

    @property
    def complete(self) -> bool:
        """Every repeat delivered every record."""
        return bool(self.samples) and all(s["complete"] for s in self.samples)


@dataclass
class EncodeResult:
    """What one encoder measured over the repeats, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples_ns: list[float] = field(default_factory=list)
    request_bytes: int = 0
    notes: str = ""

    @property
    def median(self) -> float | None:
        """Median ns per record over the repeats."""
        return statistics.median(self.samples_ns) if self.samples_ns else None


def delivery_notes(result: DeliveryResult) -> str:
    """The notes column of a delivery row."""
    if not result.samples:
        return result.notes
    parts: list[str] = []
    delivered = result.delivered
    low, n = min(delivered), result.records
    if result.complete:
        parts.append(f"delivered {n:,}/{n:,}")
    else:
        parts.append(f"LOSSY: delivered {low:,}-{max(delivered):,}/{n:,}")
    if any(not s["flush_ok"] for s in result.samples):
        parts.append("flush timed out")
    pipeline = result.samples[-1].get("pipeline") or {}
    if pipeline:
        dropped = {k: v for k, v in pipeline.get("dropped", {}).items() if v}
        parts.append(f"stats exported {pipeline.get('exported', 0):,}")
        if pipeline.get("failed"):
            parts.append(f"failed {pipeline['failed']:,}")
        if dropped:
            parts.append(f"dropped {dropped}")
    errors = sum(int(s["receiver_errors"]) for s in result.samples)
    if errors:
        parts.append(f"{errors} undecodable requests")
    bad_lines = sum(int(s.get("bad_lines", 0)) for s in result.samples)
    if bad_lines:
        parts.append(f"{bad_lines} lines not JSON")
    if result.notes:
        parts.append(result.notes)
    return ", ".join(parts)


def record_encode(rows: Sequence[EncodeResult], outcome: dict[str, Any]) -> None:
    """Add one encode child's measurements to the encode rows."""
    for row in rows:
        if row.status != "ok":
            continue
        if outcome["status"] != "ok":
            row.status, row.notes = outcome["status"], outcome.get("notes", "")
            continue
        measured = outcome["rows"].get(row.key, {"status": "error", "notes": "missing"})
        if measured["status"] != "ok":
            row.status, row.notes = measured["status"], measured.get("notes", "")
            continue
        row.samples_ns.append(float(measured["ns_per_record"]))
        row.request_bytes = int(measured["request_bytes"])


def format_tables(deliveries: Sequence[DeliveryResult], encodes: Sequence[EncodeResult]) -> str:
    """Render the delivery table (and the encode table, if any) as text."""
    parts: list[str] = []
    if deliveries:
        rates = {r.key: r.median("delivered_per_s") for r in deliveries}
        base, complete_base = rates.get(BASELINE), rates.get(COMPLETE_BASELINE)
        rows: list[tuple[str, ...]] = []
        for r in deliveries:
            rate = rates[r.key]
            if r.status != "ok" or rate is None:
                rows.append((r.key, r.status, "", "", "", "", "", "", r.notes))
                continue
            producer = r.median("producer_ns_per_record")
            cpu = r.median("cpu_ns_per_record")
            rows.append(
                (
                    r.key,
                    f"{rate:,.0f}",
                    _report.ratio_cell(rate, base),
                    _report.ratio_cell(rate, complete_base),
                    "-" if producer is None else f"{producer / 1000:.2f}",
                    "-" if cpu is None else f"{cpu / 1000:.2f}",
                    f"{min(r.delivered):,}",
                    f"{(r.median('max_rss_kib') or 0) / 1024:,.0f}",
                    r.notes,
                )
            )
        header = (
            "case",
            "delivered/s",
            f"vs {BASELINE}",
            f"vs {COMPLETE_BASELINE}",
            "producer us/rec",
            "cpu us/rec",
            "delivered",
            "peak MiB",
            "notes",
        )
        parts.append(_report.table(header, rows, {1, 2, 3, 4, 5, 6, 7}))
    if encodes:
        by_key = {r.key: r.median for r in encodes}
        sdk = by_key.get("encode-sdk")
        encode_rows: list[tuple[str, ...]] = []
        for e in encodes:
            if e.status != "ok" or e.median is None:
                encode_rows.append((e.key, e.status, "", "", e.notes or e.title))
                continue
            encode_rows.append(
                (
                    e.key,
                    f"{e.median:,.0f}",
                    _report.ratio_cell(e.median, sdk),
                    f"{e.request_bytes:,}",
                    e.title,
                )
            )
        encode_header = ("encode (512/batch)", "ns/record", "vs encode-sdk", "bytes/batch", "what")
        parts.append(_report.table(encode_header, encode_rows, {1, 2, 3}))
    return "\n\n".join(parts)
