"""Reading a profile's settings from ``Settings.plugins[name]``."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.settings import Settings
from pydantic import BaseModel, BeforeValidator, ValidationError

__all__ = ["NameList", "profile_config"]

_M = TypeVar("_M", bound=BaseModel)


def _split_names(value: Any) -> Any:
    """A list given as one string, as variables give it: a JSON array or ``a,b``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return value
    return [part.strip() for part in text.split(",") if part.strip()]


#: A list of names, also read from one string (``user_id,account_id`` or a JSON array).
NameList = Annotated[list[str], BeforeValidator(_split_names)]


def profile_config(model: type[_M], name: str, settings: Settings) -> _M:
    """Validate ``settings.plugins[name]`` against ``model``.

    The message of a failure names the setting and the problem, never the value given
    (which may be a key).

    Raises:
        ConfigurationError: Unknown or invalid settings.
    """
    given: dict[str, Any] = settings.plugins.get(name) or {}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or name}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(
            f"compliance profile {name!r}: invalid settings "
            f"(FAPILOG_PLUGINS__{name.upper()}__*): {problems}; it accepts "
            f"{sorted(model.model_fields)}"
        ) from None
