"""Reading a profile's settings from ``Settings.plugins[name]``, with the core's rules."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fapilog_otel._plugins import plugin_settings
from fapilog_otel.settings import Settings, split_list
from pydantic import BaseModel, BeforeValidator

__all__ = ["NameList", "profile_config"]

_M = TypeVar("_M", bound=BaseModel)

#: A list of names, also read from one string (``user_id,account_id`` or a JSON array).
NameList = Annotated[list[str], BeforeValidator(split_list)]


def profile_config(model: type[_M], name: str, settings: Settings) -> _M:
    """Validate ``settings.plugins[name]`` against ``model`` (unknown keys refused; a
    value under a secret-looking name, such as a key, never quoted in the error).

    Raises:
        ConfigurationError: Unknown or invalid settings.
    """
    return plugin_settings(model, name, settings, f"compliance profile {name!r}")
