"""Turning exporter and processor names into objects.

Built-in exporters (``console``, ``file``, ``otlp``) are made from the container's settings. Any
other name is looked up among the installed entry points, ours first
(``fapilog_otel.exporters`` / ``fapilog_otel.processors``), then, for exporters, the OTel
SDK's own group (``opentelemetry_logs_exporter``), so any OTel exporter distribution works
by name. Plugins load only when named, never merely because they are installed.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

from fapilog_otel.errors import ConfigurationError, PluginError
from fapilog_otel.settings import Settings

EXPORTER_GROUPS = ("fapilog_otel.exporters", "opentelemetry_logs_exporter")
PROCESSOR_GROUPS = ("fapilog_otel.processors",)


def _console(settings: Settings) -> Any:
    from fapilog_otel.exporters.console import ConsoleExporter

    cfg = settings.console
    return ConsoleExporter(cfg.stream, format=cfg.format, color=cfg.color)


def _file(settings: Settings) -> Any:
    from fapilog_otel.exporters.file import FileExporter

    cfg = settings.file
    if not cfg.path:
        raise ConfigurationError(
            "exporter 'file' needs a path: set FAPILOG_FILE__PATH or Settings(file={'path': ...})"
        )
    return FileExporter(
        cfg.path,
        max_bytes=cfg.max_bytes,
        rotate_interval=cfg.rotate_interval,
        backup_count=cfg.backup_count,
        compress=cfg.compress,
    )


def _otlp(settings: Settings) -> Any:
    from fapilog_otel.otlp import OTLPExporter

    # The lane fails an export call that runs past the export timeout; the exporter's own
    # deadline (retries included) ends a little before, so it always reports its outcome.
    lane_limit = settings.batch.export_timeout_ms * 0.9
    return OTLPExporter(
        settings=settings.otlp,
        timeout_ms=min(settings.otlp.timeout_ms, lane_limit),
        diagnostics=settings.diagnostics,
    )


_BUILTIN_EXPORTERS: dict[str, Callable[[Settings], Any]] = {
    "console": _console,
    "file": _file,
    "otlp": _otlp,
}


def _distributions_offering(groups: tuple[str, ...]) -> list[str]:
    found: set[str] = set()
    for dist in metadata.distributions():
        try:
            if any(ep.group in groups for ep in dist.entry_points):
                found.add(dist.metadata["Name"] or "?")
        except Exception:
            continue
    return sorted(found)


def _load_entry_point(name: str, groups: tuple[str, ...], kind: str) -> Any:
    for group in groups:
        for ep in metadata.entry_points(group=group):
            if ep.name.lower() != name:
                continue
            dist = getattr(ep.dist, "name", "?")
            try:
                target = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"{kind} {name!r} (entry point {ep.value!r} in group {group!r} of "
                    f"distribution {dist!r}) failed to import: {exc!r}"
                ) from exc
            try:
                return target() if callable(target) else target
            except Exception as exc:
                raise PluginError(
                    f"{kind} {name!r} from distribution {dist!r} could not be created: {exc!r}"
                ) from exc
    offering = _distributions_offering(groups)
    raise PluginError(
        f"unknown {kind} {name!r}: no entry point of that name in "
        f"{' or '.join(repr(g) for g in groups)}; installed distributions offering these "
        f"groups: {', '.join(offering) if offering else 'none'}"
    )


def load_exporter(name: str, settings: Settings) -> Any:
    """Make the exporter called ``name``; raise :class:`PluginError` when unknown."""
    builtin = _BUILTIN_EXPORTERS.get(name)
    if builtin is not None:
        return builtin(settings)
    return _load_entry_point(name, EXPORTER_GROUPS, "exporter")


def load_processor(name: str) -> Any:
    """Make the processor called ``name``; raise :class:`PluginError` when unknown."""
    return _load_entry_point(name, PROCESSOR_GROUPS, "processor")
