"""Turning exporter and processor names into objects.

Built-in exporters (``console``, ``file``, ``otlp``, ``http``) are made from the container's
settings; built-in processors (the redactors, filters and enrichers of ``fapilog_otel.processors``)
are imported when named. Any other name is looked up among the installed entry points, ours
first (``fapilog_otel.exporters`` / ``fapilog_otel.processors``), then, for exporters, the
OTel SDK's own group (``opentelemetry_logs_exporter``), so any OTel exporter distribution
works by name. Plugins load only when named, never merely because they are installed.

A plugin (built-in or not) may declare:

* ``config_model``: a pydantic model of its settings; the container's
  ``Settings.plugins[name]`` is validated against it (unknown keys rejected) and the
  instance passed to the plugin's factory as its one argument;
* ``fapilog_api_version``: the plugin API version it was written for; another major
  version than :data:`~fapilog_otel.typing.PLUGIN_API_VERSION` is refused.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib import metadata
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from fapilog_otel._secret_names import is_secret_name
from fapilog_otel.errors import ConfigurationError, PluginError
from fapilog_otel.settings import Settings, split_list
from fapilog_otel.typing import PLUGIN_API_VERSION

_Model = TypeVar("_Model", bound=BaseModel)

EXPORTER_GROUPS = ("fapilog_otel.exporters", "opentelemetry_logs_exporter")
PROCESSOR_GROUPS = ("fapilog_otel.processors",)
COMPLIANCE_GROUPS = ("fapilog_otel.compliance",)
EXTENSION_GROUPS = ("fapilog_otel.extensions",)
#: The group of the ``fapilog-otel`` command's plugin subcommands.
COMMAND_GROUP = "fapilog_otel.commands"

#: The distribution to install for each known profile or extension name (for the error
#: message when it is missing).
_PROVIDED_BY = {
    "pci": "fapilog-otel-compliance",
    "hipaa": "fapilog-otel-compliance",
    "gdpr": "fapilog-otel-compliance",
    "sox": "fapilog-otel-compliance",
    "prometheus": "fapilog-otel-prometheus",
}


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
        spool_dir=settings.spool_dir,
        spool_max_bytes=int(settings.spool_max_mb * 1024 * 1024),
        spool_fsync=settings.spool_fsync,
    )


def _http(settings: Settings) -> Any:
    from fapilog_otel.exporters.http import HTTPExporter

    # As for OTLP: the exporter's deadline ends before the lane gives up on the call.
    lane_limit = settings.batch.export_timeout_ms * 0.9
    return HTTPExporter(
        settings=settings.http,
        timeout_ms=min(settings.http.timeout_ms, lane_limit),
        diagnostics=settings.diagnostics,
    )


_BUILTIN_EXPORTERS: dict[str, Callable[[Settings], Any]] = {
    "console": _console,
    "file": _file,
    "otlp": _otlp,
    "http": _http,
}


#: Built-in processors by name: ``module:attribute`` of their class, imported when named.
BUILTIN_PROCESSORS: Mapping[str, str] = {
    "redact_keys": "fapilog_otel.processors.redact:KeyRedactor",
    "redact_values": "fapilog_otel.processors.redact:ValueRedactor",
    "sample": "fapilog_otel.processors.sample:Sampler",
    "rate_limit": "fapilog_otel.processors.rate_limit:RateLimiter",
    "dedupe": "fapilog_otel.processors.dedupe:Deduplicator",
    "host": "fapilog_otel.processors.resource:HostDetector",
    "process": "fapilog_otel.processors.resource:ProcessDetector",
    "runtime": "fapilog_otel.processors.resource:RuntimeDetector",
    "k8s": "fapilog_otel.processors.resource:KubernetesDetector",
    "thread": "fapilog_otel.processors.capture:ThreadEnricher",
    "code": "fapilog_otel.processors.capture:CodeLocationEnricher",
}


def _api_major(declared: object) -> int | None:
    if isinstance(declared, bool):
        return None
    if isinstance(declared, int):
        return declared
    if isinstance(declared, str):
        head = declared.strip().split(".", 1)[0]
        return int(head) if head.isdigit() else None
    return None


def check_api_version(target: object, label: str) -> None:
    """Refuse a plugin declaring another major plugin API version than ours.

    Raises:
        PluginError: The declared version is unreadable or of another major version.
    """
    declared = getattr(target, "fapilog_api_version", None)
    if declared is None:
        return
    major = _api_major(declared)
    if major != PLUGIN_API_VERSION:
        raise PluginError(
            f"{label} declares plugin API version {declared!r}; this fapilog-otel "
            f"provides version {PLUGIN_API_VERSION}"
        )


def _config_for(target: Any, name: str, settings: Settings, label: str) -> Any:
    """The validated config for ``target`` from ``settings.plugins[name]``, or ``None``.

    Raises:
        ConfigurationError: Settings given to a plugin that takes none, unknown keys, or
            invalid values.
    """
    given = settings.plugins.get(name)
    model = getattr(target, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        if given:
            raise ConfigurationError(
                f"{label} takes no settings, but FAPILOG_PLUGINS__{name.upper()}__* / "
                f"Settings(plugins={{{name!r}: ...}}) gives {sorted(given)}"
            )
        return None
    return plugin_settings(model, name, settings, label)


def plugin_settings(model: type[_Model], name: str, settings: Settings, label: str) -> _Model:
    """``settings.plugins[name]`` validated against the plugin's ``model``: unknown keys
    refused, list settings also accepted as one string (:func:`split_list`). For plugins
    that read their own settings (a compliance profile's factory gets the container's
    settings); ``label`` names the plugin in errors.

    Raises:
        ConfigurationError: Unknown keys or invalid values; a value under a secret-looking
            name (a key, a token) is never quoted.
    """
    data = dict(settings.plugins.get(name) or {})
    known = set(model.model_fields) | {
        f.alias for f in model.model_fields.values() if f.alias is not None
    }
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise ConfigurationError(
            f"{label}: unknown setting(s) {unknown}; it accepts {sorted(model.model_fields)}"
        )
    data = {key: _from_variable(model, key, value) for key, value in data.items()}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigurationError(
            f"{label}: invalid settings (FAPILOG_PLUGINS__{name.upper()}__*): {problems}"
        ) from None


def _problem(error: Any) -> str:
    """One validation error, its input quoted unless a name on its path is secret."""
    path = [str(part) for part in error.get("loc", ())]
    text = f"{'.'.join(path)}: {error.get('msg')}"
    if any(is_secret_name(part) for part in path):
        return text
    return f"{text} (got {error.get('input')!r})"


def _is_collection(annotation: Any) -> bool:
    """Whether ``annotation`` is a list/set/tuple type, or an optional one."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return len(members) == 1 and _is_collection(members[0])
    return origin in (list, set, tuple, frozenset)


def _from_variable(model: type[BaseModel], key: str, value: Any) -> Any:
    """A list setting given as one string (as variables give it): a JSON array or ``a,b``."""
    if not isinstance(value, str):
        return value
    field = model.model_fields.get(key)
    if field is None or not _is_collection(field.annotation):
        return value
    return split_list(value)


def _instantiate(target: Any, name: str, settings: Settings, label: str) -> Any:
    """Check ``target``'s API version, validate its settings and make the plugin."""
    check_api_version(target, label)
    config = _config_for(target, name, settings, label)
    if not callable(target):
        return target
    try:
        plugin = target() if config is None else target(config)
    except (ConfigurationError, PluginError):
        raise
    except Exception as exc:
        raise PluginError(f"{label} could not be created: {exc!r}") from exc
    check_api_version(plugin, label)
    return plugin


def _distributions_offering(groups: tuple[str, ...]) -> list[str]:
    found: set[str] = set()
    for dist in metadata.distributions():
        try:
            if any(ep.group in groups for ep in dist.entry_points):
                found.add(dist.metadata["Name"] or "?")
        except Exception:
            continue
    return sorted(found)


def _find_entry_point(name: str, groups: tuple[str, ...], kind: str) -> tuple[Any, str, str]:
    """Load the entry point called ``name``: its object, its distribution and its group."""
    for group in groups:
        for ep in metadata.entry_points(group=group):
            if ep.name.lower() != name:
                continue
            dist = getattr(ep.dist, "name", "?")
            try:
                return ep.load(), dist, group
            except Exception as exc:
                raise PluginError(
                    f"{kind} {name!r} (entry point {ep.value!r} in group {group!r} of "
                    f"distribution {dist!r}) failed to import: {exc!r}"
                ) from exc
    offering = _distributions_offering(groups)
    hint = _PROVIDED_BY.get(name)
    raise PluginError(
        f"unknown {kind} {name!r}: no entry point of that name in "
        f"{' or '.join(repr(g) for g in groups)}; installed distributions offering these "
        f"groups: {', '.join(offering) if offering else 'none'}"
        + (f" (install {hint!r} for {name!r})" if hint else "")
    )


def _load_entry_point(name: str, groups: tuple[str, ...], kind: str, settings: Settings) -> Any:
    target, dist, _ = _find_entry_point(name, groups, kind)
    return _instantiate(target, name, settings, f"{kind} {name!r} from distribution {dist!r}")


def load_exporter(name: str, settings: Settings) -> Any:
    """Make the exporter called ``name``; raise :class:`PluginError` when unknown."""
    builtin = _BUILTIN_EXPORTERS.get(name)
    if builtin is not None:
        return builtin(settings)
    return _load_entry_point(name, EXPORTER_GROUPS, "exporter", settings)


def load_processor(name: str, settings: Settings) -> Any:
    """Make the processor called ``name``; raise :class:`PluginError` when unknown."""
    builtin = BUILTIN_PROCESSORS.get(name)
    if builtin is not None:
        module_name, _, attribute = builtin.partition(":")
        target = getattr(importlib.import_module(module_name), attribute)
        return _instantiate(target, name, settings, f"built-in processor {name!r}")
    return _load_entry_point(name, PROCESSOR_GROUPS, "processor", settings)


def load_profile(name: str, settings: Settings) -> Any:
    """Make the compliance profile called ``name`` (``FAPILOG_COMPLIANCE``).

    A profile's entry point is a factory called with the container's settings; what it
    returns has ``processors`` (run in the redactor stage) and ``exporters`` (added to the
    container's), either of which may be empty.

    Raises:
        PluginError: No installed distribution offers the profile, or it failed to load
            or returned something that is not a profile.
    """
    factory, dist, _ = _find_entry_point(name, COMPLIANCE_GROUPS, "compliance profile")
    label = f"compliance profile {name!r} from distribution {dist!r}"
    check_api_version(factory, label)
    try:
        profile = factory(settings)
    except (ConfigurationError, PluginError):
        raise
    except Exception as exc:
        raise PluginError(f"{label} could not be created: {exc!r}") from exc
    for part in ("processors", "exporters"):
        if not isinstance(getattr(profile, part, None), (list, tuple)):
            raise PluginError(f"{label} has no {part} sequence: got {profile!r}")
    return profile


def load_extension(name: str, settings: Settings) -> Any:
    """Make the extension called ``name`` (``FAPILOG_EXTENSIONS``).

    An extension has ``attach(container)``, called once the container is built, and may
    have ``shutdown()``, called when the container shuts down.

    Raises:
        PluginError: Unknown, failed to load, or has no ``attach`` method.
    """
    target, dist, _ = _find_entry_point(name, EXTENSION_GROUPS, "extension")
    label = f"extension {name!r} from distribution {dist!r}"
    extension = _instantiate(target, name, settings, label)
    if not callable(getattr(extension, "attach", None)):
        raise PluginError(f"{label} has no attach(container) method: got {extension!r}")
    return extension
