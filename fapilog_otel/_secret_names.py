"""Which setting, header or plugin-setting names hold secrets, and the mask shown instead.

Shared by the settings' ``repr`` (so a logged or printed ``Settings`` never carries a
token) and by the ``fapilog-otel`` command's masking.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api[-_]?key|apikey|access[-_]?key|private[-_]?key|auth|"
    r"credential|signature|cookie|session|(^|[-_.])key$",
    re.IGNORECASE,
)
#: Settings that name files, not secrets, although their names look like one.
_FILE_SETTINGS = frozenset({"client_key", "certificate", "client_certificate"})


def is_secret_name(name: str) -> bool:
    """Whether a setting, header or key called ``name`` holds a secret."""
    return name not in _FILE_SETTINGS and bool(_SECRET_NAME.search(name))


def masked_plugin_settings(plugins: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``Settings.plugins`` with every value under a secret-looking key masked, at any
    depth (a plugin's ``key``, ``token``, ``headers``...)."""
    return {name: _masked(values) for name, values in plugins.items()}


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: MASK if is_secret_name(str(k)) or str(k) == "headers" else _masked(v)
            for k, v in value.items()
        }
    return value
