"""The library's exceptions.

Nothing here is ever raised by a log call: log calls never raise. These come from
configuration and construction, where failing loudly is the kind thing to do::

    FapilogError
     ├── ConfigurationError (also a ValueError)  invalid setting or environment variable
     └── PluginError                             a named exporter/processor cannot be loaded
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "FapilogError", "PluginError"]


class FapilogError(Exception):
    """Base class of the library's exceptions."""


class ConfigurationError(FapilogError, ValueError):
    """A setting or environment variable has a value the library cannot use."""


class PluginError(FapilogError):
    """A plugin named in the configuration is unknown or failed to load."""
