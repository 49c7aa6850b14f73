"""The effective settings, one row per setting, each with the variable that set it.

The settings are made exactly as a container makes them (``Settings()``); the sources are
read again on their own (``FAPILOG_*`` through pydantic-settings' environment source, the
``OTEL_*`` variables through the settings' own OTel source) only to tell which one gave
each value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_settings import EnvSettingsSource

from fapilog_otel.cli._masking import mask_value
from fapilog_otel.settings import Settings, _OtelEnvironmentSource

DEFAULT = "default"


@dataclass(frozen=True)
class SettingRow:
    """One setting: its dotted name, its value (secrets masked) and where it came from."""

    name: str
    value: Any
    source: str

    @property
    def is_default(self) -> bool:
        """Whether no variable set it."""
        return self.source == DEFAULT

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data."""
        return {"name": self.name, "value": self.value, "source": self.source}


def _leaves(model: BaseModel, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    rows: list[tuple[tuple[str, ...], Any]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = (*prefix, name)
        if isinstance(value, BaseModel):
            rows.extend(_leaves(value, path))
        else:
            rows.append((path, value))
    return rows


def _given(values: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = values
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _fapilog_variable(path: tuple[str, ...], environ: Mapping[str, str]) -> str:
    """The ``FAPILOG_*`` variable that gave ``path``: its own, or its section's (JSON)."""
    present = {name.upper() for name in environ}
    for depth in range(len(path), 0, -1):
        name = "FAPILOG_" + "__".join(part.upper() for part in path[:depth])
        if name in present:
            return name
    # A deeper variable (FAPILOG_PLUGINS__SAMPLE__RATIO for ``plugins``).
    stem = "FAPILOG_" + "__".join(part.upper() for part in path) + "__"
    deeper = sorted(name for name in present if name.startswith(stem))
    return ", ".join(deeper) if deeper else stem.rstrip("_")


def _otel_variable(path: tuple[str, ...], environ: Mapping[str, str]) -> str:
    """The standard variable that gave ``path``."""
    source = _OtelEnvironmentSource
    candidates: tuple[str | None, ...] = ()
    if path == ("resource_attributes",):
        candidates = ("OTEL_RESOURCE_ATTRIBUTES",)
    elif len(path) == 2 and path[0] == "limits":
        candidates = source.LIMITS.get(path[1], ())
    elif len(path) == 2 and path[0] == "otlp":
        candidates = source.OTLP.get(path[1], ())
    else:
        candidates = tuple(
            variable
            for variable, (section, name) in source.SIMPLE.items()
            if path == ((name,) if section is None else (section, name))
        )
    for variable in candidates:
        if variable and environ.get(variable, "").strip():
            return variable
    return "OTEL_*"


def setting_rows(settings: Settings) -> list[SettingRow]:
    """Every setting of ``settings`` with its source, secrets masked.

    ``settings`` should have been made from the environment alone (``Settings()``); a
    source is then one ``FAPILOG_*`` variable, one ``OTEL_*`` variable, or ``default``.
    """
    env = os.environ
    from_fapilog = EnvSettingsSource(Settings)()
    from_otel = _OtelEnvironmentSource(Settings)()
    rows = []
    for path, value in _leaves(settings):
        if _given(from_fapilog, path):
            source = _fapilog_variable(path, env)
        elif _given(from_otel, path):
            source = _otel_variable(path, env)
        else:
            source = DEFAULT
        rows.append(SettingRow(".".join(path), mask_value(path[-1], value), source))
    return rows
