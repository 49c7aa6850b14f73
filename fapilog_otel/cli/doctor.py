"""``fapilog-otel doctor``: the effective configuration, the destinations, a live check.

Exit status 0 when every check passed, 1 otherwise. Secrets never appear in the output:
see :mod:`fapilog_otel.cli._masking`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from fapilog_otel._secret_names import MASK
from fapilog_otel.cli._checks import Check, destination_checks
from fapilog_otel.cli._live import live_check
from fapilog_otel.cli._masking import Scrubber
from fapilog_otel.cli._sources import setting_rows
from fapilog_otel.errors import FapilogError
from fapilog_otel.settings import Settings

HELP = "check the configuration, the exporters' destinations and a live record"
DESCRIPTION = """\
Show the effective configuration (read from the environment exactly as a container reads
it, secrets masked), check that each configured exporter's destination is reachable
(OTLP and HTTP: a TCP connection to the resolved endpoint; file: a writable directory),
then log one test record through a real container and report what happened to it.
Exit status: 0 when everything checked is fine, 1 otherwise."""


def add_parser(subparsers: Any) -> None:
    """Register ``doctor`` on the command's subparsers."""
    parser = subparsers.add_parser(
        "doctor",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="for each connection attempt and for the live record's flush (default: 2)",
    )
    parser.add_argument(
        "--no-live",
        action="store_true",
        help="skip the live check (no test record is sent anywhere)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="list every setting, not only those set by a variable",
    )
    parser.set_defaults(run=run)


def _secret_settings(settings: Settings) -> list[str]:
    values = [*settings.otlp.headers.values()]
    http = getattr(settings, "http", None)
    if http is not None:
        values.extend(http.headers.values())
        secret = getattr(http, "secret", None)
        if secret is not None:
            values.append(secret.get_secret_value())
    return values


def build_report(timeout: float, live: bool) -> dict[str, Any]:
    """Run every check; return the report (secrets masked, not yet scrubbed)."""
    report: dict[str, Any] = {"ok": True, "settings": [], "checks": [], "live": None}
    try:
        settings = Settings()
    except FapilogError as exc:
        report["ok"] = False
        report["error"] = f"invalid settings: {exc}"
        return report
    report["settings"] = [row.as_dict() for row in setting_rows(settings)]
    report["exporters"] = settings.exporter_names
    checks: list[Check] = destination_checks(settings, timeout)
    report["checks"] = [check.as_dict() for check in checks]
    if live:
        result = live_check(settings, timeout)
        report["live"] = result.as_dict()
        report["ok"] = result.ok
    report["ok"] = report["ok"] and all(check.ok is not False for check in checks)
    report["_secrets"] = _secret_settings(settings)
    return report


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _write_text(report: dict[str, Any], show_all: bool, out: TextIO) -> None:
    if "error" in report:
        out.write(f"{report['error']}\n\nresult: FAIL\n")
        return
    rows = report["settings"]
    shown = rows if show_all else [row for row in rows if row["source"] != "default"]
    out.write("configuration (from the environment; secrets shown as " + MASK + ")\n")
    if not shown:
        out.write("  every setting is at its default (--all lists them)\n")
    width = max((len(row["name"]) for row in shown), default=0)
    for row in shown:
        value = _render_value(row["value"])
        out.write(f"  {row['name']:<{width}}  {value}  [{row['source']}]\n")
    hidden = len(rows) - len(shown)
    if hidden:
        out.write(f"  ({hidden} more at their defaults; --all lists them)\n")
    out.write(f"  exporters in use: {', '.join(report['exporters']) or 'none'}\n")
    out.write("\ndestinations\n")
    for check in report["checks"]:
        out.write(f"  [{check['status']:>4}] {check['name']}: {check['detail']}\n")
    live = report["live"]
    if live is not None:
        out.write("\nlive check (one test record through a container)\n")
        out.write(f"  [{'ok' if live['ok'] else 'FAIL':>4}] {live['detail']}\n")
        _write_stats(live["stats"], out)
        if live["captured_stdout"]:
            lines = live["captured_stdout"].count("\n")
            out.write(f"  (the exporters wrote {lines} line(s) to stdout; captured, not shown)\n")
    out.write(f"\nresult: {'ok' if report['ok'] else 'FAIL'}\n")


def _write_stats(stats: dict[str, Any], out: TextIO) -> None:
    if not stats:
        return
    out.write(
        f"  submitted {stats.get('submitted', 0)}, exported {stats.get('exported', 0)}, "
        f"failed {stats.get('failed', 0)}, queued {stats.get('queued', 0)}\n"
    )
    dropped = stats.get("dropped") or {}
    recent = ", ".join(f"{reason} {n}" for reason, n in sorted(dropped.items())) or "none"
    out.write(f"  recent drops: {recent}\n")
    for name, lane in (stats.get("exporters") or {}).items():
        fields = ", ".join(
            f"{key} {_render_value(value)}" for key, value in lane.items() if value not in (0, {})
        )
        out.write(f"  exporter {name}: {fields or 'nothing counted'}\n")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``doctor``; return the exit status."""
    report = build_report(args.timeout, live=not args.no_live)
    scrubber = Scrubber.from_environment()
    scrubber.add(report.pop("_secrets", []))
    report = scrubber.deep(report)
    if args.json:
        out.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        _write_text(report, args.all, out)
    return 0 if report["ok"] else 1
