"""``fapilog-otel plugins list``: every plugin the container could load by name.

Entry points are loaded as the container loads them (``EntryPoint.load``, then the plugin
API version check); processors are also put through the conformance kit of
:mod:`fapilog_otel.testing`, which is cheap and has no side effects. Exporters are only
loaded and inspected, never made: making one may open files or connections.
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TextIO

from fapilog_otel._plugins import (
    _BUILTIN_EXPORTERS,
    BUILTIN_PROCESSORS,
    COMMAND_GROUP,
    COMPLIANCE_GROUPS,
    EXPORTER_GROUPS,
    EXTENSION_GROUPS,
    PROCESSOR_GROUPS,
    check_api_version,
)
from fapilog_otel.settings import Settings

HELP = "list the installed and built-in processors and exporters"
DESCRIPTION = """\
List every processor and exporter a container can load by name: the built-in ones and the
entry points of the groups fapilog_otel.processors, fapilog_otel.exporters and
opentelemetry_logs_exporter, each with its distribution and whether it loads and passes
the checks (the plugin API version; for processors, the conformance kit too). Compliance
profiles (fapilog_otel.compliance), extensions (fapilog_otel.extensions) and commands
(fapilog_otel.commands) are listed too.
Exit status: 0 when every plugin loads and passes, 1 otherwise."""

#: Where the built-in exporters live (they are made from the settings, not loaded).
_BUILTIN_EXPORTER_TARGETS = {
    "console": "fapilog_otel.exporters.console:ConsoleExporter",
    "file": "fapilog_otel.exporters.file:FileExporter",
    "otlp": "fapilog_otel.otlp:OTLPExporter",
    "http": "fapilog_otel.exporters.http:HTTPExporter",
}
_BUILTIN = "built-in"
#: Names a plugin of each kind cannot take from the built-ins.
_BUILTIN_NAMES: dict[str, Any] = {
    "processor": BUILTIN_PROCESSORS,
    "exporter": _BUILTIN_EXPORTERS,
    "command": {"doctor": None, "plugins": None, "bench": None},
}


@dataclass(frozen=True)
class PluginRow:
    """One plugin: where it comes from and whether it passed."""

    name: str
    kind: str
    group: str
    target: str
    distribution: str
    version: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data."""
        return dict(self.__dict__)


def add_parser(subparsers: Any) -> None:
    """Register ``plugins`` (with ``plugins list``) on the command's subparsers."""
    parser = subparsers.add_parser(
        "plugins",
        help="inspect plugins",
        description="Inspect the plugins a container can load by name.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument(
        "--no-conformance",
        action="store_true",
        help="only load each plugin and check its API version",
    )
    listing.set_defaults(run=run)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, AssertionError) else text


def _import_target(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def _looks_like(kind: str, target: Any) -> str | None:
    """Why ``target`` cannot be a ``kind``, or ``None`` when it can."""
    if not callable(target):
        return f"{target!r} is not a class or factory"
    if not isinstance(target, type):
        return None  # a factory: what it returns is only known once called
    if kind == "exporter":
        return None if callable(getattr(target, "export", None)) else "has no export()"
    if kind == "extension":
        return None if callable(getattr(target, "attach", None)) else "has no attach()"
    if kind in ("profile", "command"):
        return None
    methods = ("process", "process_batch", "resource_attributes", "on_emit")
    if any(callable(getattr(target, m, None)) for m in methods) or hasattr(target, "capture"):
        return None
    return "has none of process(), process_batch(), resource_attributes(), on_emit()"


def _conformance(target: Any, name: str, settings: Settings) -> str | None:
    """The first failed conformance check of processor ``target``, or ``None``."""
    from fapilog_otel._plugins import _instantiate
    from fapilog_otel.testing import check_processor

    def factory() -> Any:
        return _instantiate(target, name, settings, f"processor {name!r}")

    try:
        check_processor(factory)
    except AssertionError as exc:
        return _one_line(exc)
    except Exception as exc:
        return f"conformance kit could not run it: {_one_line(exc)}"
    return None


def _validate(
    kind: str, name: str, target: Any, settings: Settings, conformance: bool
) -> tuple[bool, str]:
    try:
        check_api_version(target, f"{kind} {name!r}")
    except Exception as exc:
        return False, _one_line(exc)
    problem = _looks_like(kind, target)
    if problem is not None:
        return False, f"not a {kind}: {problem}"
    if kind == "processor" and conformance:
        failed = _conformance(target, name, settings)
        if failed is not None:
            return False, failed
        return True, "loads; API version ok; conformance kit passed"
    return True, "loads; API version ok"


def _builtin_rows(settings: Settings, conformance: bool) -> list[PluginRow]:
    rows = []
    version = metadata.version("fapilog-otel")
    builtins = [("processor", n, t) for n, t in BUILTIN_PROCESSORS.items()]
    builtins += [("exporter", n, _BUILTIN_EXPORTER_TARGETS.get(n, "?")) for n in _BUILTIN_EXPORTERS]
    for kind, name, target_path in builtins:
        try:
            target = _import_target(target_path)
        except Exception as exc:
            ok, detail = False, f"does not import: {_one_line(exc)}"
        else:
            # Built-in processors are covered by the project's own tests: loading is enough.
            ok, detail = _validate(kind, name, target, settings, conformance=False)
        rows.append(
            PluginRow(name, kind, _BUILTIN, target_path, "fapilog-otel", version, ok, detail)
        )
    return rows


def _entry_point_rows(settings: Settings, conformance: bool) -> list[PluginRow]:
    rows = []
    seen: dict[str, str] = {}
    groups = [
        *((g, "processor") for g in PROCESSOR_GROUPS),
        *((g, "exporter") for g in EXPORTER_GROUPS),
        *((g, "profile") for g in COMPLIANCE_GROUPS),
        *((g, "extension") for g in EXTENSION_GROUPS),
        (COMMAND_GROUP, "command"),
    ]
    for group, kind in groups:
        for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
            dist = ep.dist
            name = ep.name.lower()
            try:
                target = ep.load()
            except Exception as exc:
                ok, detail = False, f"fails to import: {_one_line(exc)}"
            else:
                ok, detail = _validate(kind, name, target, settings, conformance)
            builtin = _BUILTIN_NAMES.get(kind, {})
            key = f"{kind}:{name}"
            if name in builtin:
                detail += f"; shadowed by the built-in {kind} {name!r}"
            elif key in seen:
                detail += f"; shadowed by the entry point in {seen[key]!r}"
            else:
                seen[key] = group
            rows.append(
                PluginRow(
                    name,
                    kind,
                    group,
                    ep.value,
                    getattr(dist, "name", None) or "?",
                    getattr(dist, "version", None) or "?",
                    ok,
                    detail,
                )
            )
    return rows


def list_plugins(conformance: bool = True) -> list[PluginRow]:
    """Every built-in plugin and every entry point of the plugin groups, checked."""
    try:
        settings = Settings()
    except Exception:
        settings = Settings.model_construct()
    return [*_builtin_rows(settings, conformance), *_entry_point_rows(settings, conformance)]


def _write_text(rows: list[PluginRow], out: TextIO) -> None:
    headers = ("name", "kind", "group", "distribution", "status")
    table = [
        (r.name, r.kind, r.group, f"{r.distribution} {r.version}", "ok" if r.ok else "FAIL")
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in table)) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for line, row in zip(table, rows, strict=True):
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n")
        out.write(f"    {row.target}: {row.detail}\n")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``plugins list``; return the exit status."""
    rows = list_plugins(conformance=not args.no_conformance)
    if args.json:
        out.write(json.dumps([row.as_dict() for row in rows], indent=2) + "\n")
    else:
        _write_text(rows, out)
    return 0 if all(row.ok for row in rows) else 1
