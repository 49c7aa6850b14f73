"""Configuration: a pydantic-settings model read from arguments and the environment.

Precedence, highest first: arguments given to :class:`Settings`, ``FAPILOG_*`` variables
(nesting with ``__``, e.g. ``FAPILOG_BATCH__MAX_SIZE``), the standard ``OTEL_*`` variables,
then the defaults. Every setting and variable is listed in ``docs/configuration.md``.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from fapilog_otel._secret_names import MASK, masked_plugin_settings
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.record import Severity

__all__ = [
    "BatchSettings",
    "ConsoleSettings",
    "FileSettings",
    "HTTPSettings",
    "LimitSettings",
    "OTLPSettings",
    "Settings",
]

Level = Literal["trace", "debug", "info", "warning", "error", "critical"]
Overflow = Literal["block", "drop_newest", "drop_oldest"]
Protocol = Literal["grpc", "http/protobuf", "http/json"]

#: Level names accepted for their usual spelling, wherever settings take a level.
LEVEL_ALIASES = {"warn": "warning", "fatal": "critical", "err": "error"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Header values are credentials (``Authorization``, API keys): never shown."""
        for name, value in super().__repr_args__():
            if name == "headers" and isinstance(value, dict):
                yield name, dict.fromkeys(value, MASK)
            else:
                yield name, value


class BatchSettings(_Section):
    """How the worker batches records for the exporters."""

    max_size: int = Field(1024, ge=1, le=1_000_000)
    """Most records handed to an exporter in one call (``OTEL_BLRP_MAX_EXPORT_BATCH_SIZE``)."""

    max_delay_ms: float = Field(0.0, ge=0, le=600_000)
    """Longest a record waits for a fuller batch while the exporters are free
    (``OTEL_BLRP_SCHEDULE_DELAY``). 0 sends as soon as an exporter is free; while exporters
    are busy, records gather into the next batch anyway."""

    export_timeout_ms: float = Field(30_000.0, gt=0, le=3_600_000)
    """Longest one ``export`` call may take before its batch is counted as failed
    (``OTEL_BLRP_EXPORT_TIMEOUT``)."""


class ConsoleSettings(_Section):
    """The built-in console exporter."""

    format: Literal["auto", "json", "pretty"] = "auto"
    """``auto`` is pretty on a TTY and JSON lines otherwise."""

    stream: Literal["stdout", "stderr"] = "stdout"
    color: bool | None = None
    """``None`` colours pretty output on a TTY unless ``NO_COLOR`` is set."""


class FileSettings(_Section):
    """The built-in file exporter (JSON lines)."""

    path: str | None = None
    """File to write; setting it makes ``file`` the default exporter."""

    max_bytes: int = Field(0, ge=0)
    """Rotate before the file would grow past this size; 0 never rotates by size."""

    rotate_interval: float | Literal["hourly", "daily"] = 0.0
    """Rotate when the file has been open this many seconds (or ``hourly``/``daily``);
    0 never rotates by time."""

    @field_validator("rotate_interval")
    @classmethod
    def _non_negative(cls, value: float | str) -> float | str:
        if isinstance(value, float) and value < 0:
            raise ValueError("must be >= 0")
        return value

    backup_count: int = Field(5, ge=0)
    """Rotated files to keep; older ones are deleted."""

    compress: bool = False
    """Gzip rotated files."""


class HTTPSettings(_Section):
    """The built-in HTTP webhook exporter (``OTEL_LOGS_EXPORTER=http``)."""

    url: str | None = None
    """Where batches are POSTed (``http://`` or ``https://``); the exporter ``http`` needs
    it."""

    format: Literal["json", "ndjson"] = "json"
    """``json``: one JSON array per batch (``application/json``); ``ndjson``: one JSON object
    per line (``application/x-ndjson``)."""

    headers: dict[str, str] = Field(default_factory=dict)
    """Headers sent with every request (an API key, say); their values never appear in
    diagnostics."""

    compression: Literal["gzip", "none"] = "none"
    """``gzip`` compresses each body (``Content-Encoding: gzip``)."""

    secret: SecretStr | None = None
    """Key of the HMAC-SHA256 signature (``X-Fapilog-Signature``) over the timestamp and
    the body sent; ``None`` sends no signature."""

    timeout_ms: float = Field(10_000.0, gt=0, le=3_600_000)
    """Longest one export may take, retries included, in milliseconds."""

    @field_validator("format", "compression", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class LimitSettings(_Section):
    """Attribute limits of the OTel spec, applied on the worker.

    ``none`` or ``unset`` (as the OTel SDK spells it) in a variable means no limit.
    """

    @field_validator("attribute_count", "attribute_value_length", mode="before")
    @classmethod
    def _no_limit(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("none", "unset", ""):
            return None
        return value

    attribute_count: int | None = Field(128, ge=0)
    """Most attributes per record (``OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT``, then
    ``OTEL_ATTRIBUTE_COUNT_LIMIT``); ``None`` means no limit."""

    attribute_value_length: int | None = Field(None, ge=0)
    """Longest string attribute value (``OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT``, then
    ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``); ``None`` means no limit."""


class OTLPSettings(_Section):
    """The native OTLP exporter (``OTEL_LOGS_EXPORTER=otlp``).

    Each field is also read from ``OTEL_EXPORTER_OTLP_LOGS_<NAME>``, then from
    ``OTEL_EXPORTER_OTLP_<NAME>``, as the OpenTelemetry specification says.
    """

    protocol: Protocol = "http/protobuf"
    """``http/protobuf`` (the default the specification asks for), ``http/json`` or ``grpc``
    (``OTEL_EXPORTER_OTLP_[LOGS_]PROTOCOL``; ``grpc`` needs ``fapilog-otel[grpc]``)."""

    endpoint: str | None = None
    """The logs endpoint, used verbatim (``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT``), e.g.
    ``https://collector:4318/v1/logs``; for gRPC, ``http(s)://host:port``."""

    base_endpoint: str | None = None
    """The base endpoint shared by all signals (``OTEL_EXPORTER_OTLP_ENDPOINT``): over HTTP
    ``/v1/logs`` is appended to its path. Used when ``endpoint`` is not set; with neither,
    ``http://localhost:4318`` (HTTP) or ``http://localhost:4317`` (gRPC)."""

    headers: dict[str, str] = Field(default_factory=dict)
    """Headers (gRPC metadata) sent with every request
    (``OTEL_EXPORTER_OTLP_[LOGS_]HEADERS``: ``k=v,k2=v2``, values URL-decoded)."""

    timeout_ms: float = Field(10_000.0, gt=0, le=3_600_000)
    """Longest one export may take, retries included, in milliseconds
    (``OTEL_EXPORTER_OTLP_[LOGS_]TIMEOUT``)."""

    compression: Literal["gzip", "none"] = "none"
    """``gzip`` or ``none`` (``OTEL_EXPORTER_OTLP_[LOGS_]COMPRESSION``)."""

    certificate: str | None = None
    """CA bundle (PEM) trusted for the collector's certificate
    (``OTEL_EXPORTER_OTLP_[LOGS_]CERTIFICATE``); the system's CAs when unset."""

    client_key: str | None = None
    """Private key (PEM) for mutual TLS (``OTEL_EXPORTER_OTLP_[LOGS_]CLIENT_KEY``)."""

    client_certificate: str | None = None
    """Certificate chain (PEM) for mutual TLS
    (``OTEL_EXPORTER_OTLP_[LOGS_]CLIENT_CERTIFICATE``)."""

    insecure: bool | None = None
    """gRPC only: ``true`` sends without TLS when the endpoint has no scheme
    (``OTEL_EXPORTER_OTLP_[LOGS_]INSECURE``). An ``http://`` or ``https://`` scheme decides
    on its own."""

    @field_validator("protocol", "compression", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


def split_list(value: Any) -> Any:
    """A list given as one string, as variables give it: a JSON array (``["a", "b"]``) or
    a comma list (``a,b``); anything else as it is. Plugins use it for their list
    settings."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return value
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_key_values(value: str, variable: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(
                f"{variable}: expected a comma-separated list of key=value pairs, got {item!r}"
            )
        out[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(val.strip())
    return out


class _OtelEnvironmentSource(PydanticBaseSettingsSource):
    """Reads the standard ``OTEL_*`` variables, below the ``FAPILOG_*`` ones in precedence."""

    #: OTel variable -> (section or None, field) it sets.
    SIMPLE: ClassVar[dict[str, tuple[str | None, str]]] = {
        "OTEL_SERVICE_NAME": (None, "service_name"),
        "OTEL_LOGS_EXPORTER": (None, "exporters"),
        "OTEL_BLRP_MAX_QUEUE_SIZE": (None, "queue_size"),
        "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": ("batch", "max_size"),
        "OTEL_BLRP_SCHEDULE_DELAY": ("batch", "max_delay_ms"),
        "OTEL_BLRP_EXPORT_TIMEOUT": ("batch", "export_timeout_ms"),
    }
    #: Per-signal variable first, then the global one.
    LIMITS: ClassVar[dict[str, tuple[str, str]]] = {
        "attribute_count": (
            "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
        ),
        "attribute_value_length": (
            "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        ),
    }

    #: OTLP exporter field -> (per-signal variable, shared variable).
    OTLP: ClassVar[dict[str, tuple[str, str | None]]] = {
        name: (f"OTEL_EXPORTER_OTLP_LOGS_{name.upper()}", f"OTEL_EXPORTER_OTLP_{name.upper()}")
        for name in (
            "protocol",
            "headers",
            "compression",
            "certificate",
            "client_key",
            "client_certificate",
            "insecure",
        )
    }
    OTLP.update(
        {
            "timeout_ms": ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
            "endpoint": ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", None),
            "base_endpoint": ("OTEL_EXPORTER_OTLP_ENDPOINT", None),
        }
    )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: values come from :meth:`__call__` as a whole."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = os.environ
        values: dict[str, Any] = {}
        for variable, (section, name) in self.SIMPLE.items():
            raw = env.get(variable, "").strip()
            if not raw:
                continue
            if section is None:
                values[name] = raw
            else:
                values.setdefault(section, {})[name] = raw
        for name, variables in self.LIMITS.items():
            for variable in variables:
                raw = env.get(variable, "").strip()
                if raw:
                    values.setdefault("limits", {})[name] = raw
                    break
        for name, otlp_variables in self.OTLP.items():
            for otlp_variable in otlp_variables:
                raw = env.get(otlp_variable, "").strip() if otlp_variable else ""
                if raw and otlp_variable:
                    value: Any = raw
                    if name == "headers":
                        value = _parse_key_values(raw, otlp_variable)
                    values.setdefault("otlp", {})[name] = value
                    break
        raw_attrs = env.get("OTEL_RESOURCE_ATTRIBUTES", "").strip()
        if raw_attrs:
            values["resource_attributes"] = _parse_key_values(raw_attrs, "OTEL_RESOURCE_ATTRIBUTES")
        return values


#: Field path -> the standard variable that also sets it (for error messages).
_OTEL_NAMES: dict[tuple[str, ...], str] = {
    ((name,) if section is None else (section, name)): variable
    for variable, (section, name) in _OtelEnvironmentSource.SIMPLE.items()
}
_OTEL_NAMES.update(
    {("limits", name): variables[0] for name, variables in _OtelEnvironmentSource.LIMITS.items()}
)
_OTEL_NAMES.update(
    {
        ("otlp", name): " / ".join(v for v in variables if v)
        for name, variables in _OtelEnvironmentSource.OTLP.items()
    }
)


class Settings(BaseSettings):
    """Everything a container can be configured with.

    Example::

        fo.Settings(service_name="billing", level="debug", overflow="drop_oldest")

    Raises:
        ConfigurationError: A value (given or read from the environment) is invalid; the
            message names the setting, its variables and what is allowed.
    """

    model_config = SettingsConfigDict(
        env_prefix="FAPILOG_",
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        validate_assignment=True,
    )

    level: Level = "info"
    """Records below this level are discarded at the call site (``FAPILOG_LEVEL``)."""

    service_name: str | None = None
    """``service.name`` of the container's resource (``OTEL_SERVICE_NAME``)."""

    resource_attributes: dict[str, str] = Field(default_factory=dict)
    """Extra resource attributes (``OTEL_RESOURCE_ATTRIBUTES``, ``k=v,k2=v2``)."""

    exporters: Annotated[list[str], NoDecode] | None = None
    """Exporter names (``OTEL_LOGS_EXPORTER``, comma list): ``console``, ``file``, ``otlp``,
    ``http``, ``none``, or an exporter plugin's entry-point name. ``None`` means ``console``
    (or ``file`` when ``file.path`` is set)."""

    processors: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Processor names, built-in or plugin (``FAPILOG_PROCESSORS``, comma list). Each runs
    in its stage (filters, then enrichers and processors, then redactors), in this order."""

    redactors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["redact_keys", "redact_values"]
    )
    """Redactors, run after every other processor (``FAPILOG_REDACTORS``, comma list). On
    by default; ``none`` (or an empty list) turns redaction off."""

    compliance: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Compliance profiles (``FAPILOG_COMPLIANCE``, comma list: ``pci``, ``hipaa``, ``gdpr``,
    ``sox``), each loaded from the ``fapilog_otel.compliance`` entry points (the
    ``fapilog-otel-compliance`` distribution). A profile's processors run in the redactor
    stage after :attr:`redactors`; its exporters (the SOX audit trail) join the
    container's. See ``docs/compliance.md``."""

    extensions: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Extensions attached to the container (``FAPILOG_EXTENSIONS``, comma list), loaded
    from the ``fapilog_otel.extensions`` entry points: ``prometheus`` (the
    ``fapilog-otel-prometheus`` distribution). Setting ``FAPILOG_PROMETHEUS_PORT`` names
    ``prometheus`` too."""

    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Settings of each processor or exporter by name, validated by the plugin's own model
    (``FAPILOG_PLUGINS__<NAME>__<SETTING>``, e.g. ``FAPILOG_PLUGINS__SAMPLE__RATIO=0.1``)."""

    plugin_timeout_ms: float = Field(1000.0, gt=0, le=600_000)
    """Longest an async processor may take over one batch."""

    levels: Annotated[dict[str, Level], NoDecode] = Field(default_factory=dict)
    """Levels of particular loggers and their children (``FAPILOG_LEVELS``:
    ``app.db=debug,urllib3=warning``); the longest matching prefix wins, ``level`` applies
    to the rest."""

    queue_size: int = Field(65_536, ge=1, le=100_000_000)
    """Records the queue holds before the overflow policy applies (``OTEL_BLRP_MAX_QUEUE_SIZE``)."""

    overflow: Overflow = "block"
    """What a full queue does: ``block`` waits up to ``block_timeout_ms`` then drops the
    new record; ``drop_newest`` drops the new record; ``drop_oldest`` evicts the oldest.
    Records at ERROR and above are the last to be dropped under every policy."""

    block_timeout_ms: float = Field(100.0, ge=0, le=600_000)
    """Longest a log call waits for room under ``overflow=block``."""

    error_reserve: float = Field(0.1, ge=0, lt=1)
    """Share of the queue only records at ERROR and above may use."""

    batch: BatchSettings = Field(default_factory=BatchSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    file: FileSettings = Field(default_factory=FileSettings)
    http: HTTPSettings = Field(default_factory=HTTPSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    otlp: OTLPSettings = Field(default_factory=OTLPSettings)

    shutdown_timeout: float = Field(5.0, ge=0, le=3600)
    """Seconds the exit-time drain may take when the application never shut down."""

    drop_report_interval: float = Field(10.0, gt=0)
    """Seconds between two warning records that report dropped records."""

    diagnostics: bool = True
    """Write the library's own rate-limited warnings to stderr."""

    spool_dir: str | None = None
    """Directory of the OTLP exporters' durable spools (``FAPILOG_SPOOL_DIR``): every
    request is kept on disk until the collector acknowledges it, sent in order, and what a
    crash or an outage leaves is sent by the next process (see ``docs/reliability.md``).
    ``None``: no spool."""

    spool_max_mb: float = Field(256.0, gt=0)
    """Most megabytes (MiB) of encoded requests one spool keeps; past it the oldest are
    evicted, counted (``FAPILOG_SPOOL_MAX_MB``)."""

    spool_fsync: Literal["always", "normal", "off"] = "normal"
    """When a spool syncs to disk (``FAPILOG_SPOOL_FSYNC``): ``always`` on every write
    (survives power loss), ``normal`` (survives a crash of the process), ``off``."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(_describe_errors(exc)) from None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Plugin settings under secret-looking names (a key, a token) are never shown."""
        for name, value in super().__repr_args__():
            if name == "plugins" and isinstance(value, dict):
                yield name, masked_plugin_settings(value)
            else:
                yield name, value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then ``FAPILOG_*``, then the standard ``OTEL_*`` variables."""
        return (init_settings, env_settings, _OtelEnvironmentSource(settings_cls))

    @field_validator("level", mode="before")
    @classmethod
    def _normalise_level(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return LEVEL_ALIASES.get(lowered, lowered)
        return value

    @field_validator("overflow", mode="before")
    @classmethod
    def _normalise_overflow(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "exporters", "processors", "redactors", "compliance", "extensions", mode="before"
    )
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        value = split_list(value)
        if isinstance(value, list):
            return [v.strip().lower() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("redactors", mode="after")
    @classmethod
    def _no_redactors(cls, value: list[str]) -> list[str]:
        return [name for name in value if name != "none"]

    @field_validator("plugins", mode="before")
    @classmethod
    def _plugin_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k).strip().lower(): v for k, v in value.items()}
        return value

    @field_validator("levels", mode="before")
    @classmethod
    def _parse_levels(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = _parse_key_values(value, "FAPILOG_LEVELS") if value.strip() else {}
        if isinstance(value, dict):
            return {
                str(name).strip(): LEVEL_ALIASES.get(
                    str(lvl).strip().lower(), str(lvl).strip().lower()
                )
                if isinstance(lvl, str)
                else lvl
                for name, lvl in value.items()
            }
        return value

    @property
    def level_number(self) -> int:
        """The severity number of :attr:`level`."""
        return Severity.BY_NAME[self.level]

    def level_for(self, logger_name: str) -> int:
        """The severity number a logger called ``logger_name`` is gated at.

        The longest entry of :attr:`levels` that is the name or a dotted prefix of it
        wins; without one, :attr:`level`.
        """
        levels = self.levels
        if levels:
            name = logger_name
            while True:
                found = levels.get(name)
                if found is not None:
                    return Severity.BY_NAME[found]
                cut = name.rfind(".")
                if cut < 0:
                    break
                name = name[:cut]
        return Severity.BY_NAME[self.level]

    @property
    def exporter_names(self) -> list[str]:
        """The exporters to build, after applying the defaults; ``none`` means no exporter."""
        if self.exporters is None:
            return ["file"] if self.file.path else ["console"]
        return [name for name in self.exporters if name != "none"]

    @property
    def extension_names(self) -> list[str]:
        """The extensions to attach: :attr:`extensions`, plus ``prometheus`` when
        ``FAPILOG_PROMETHEUS_PORT`` is set (asking for its endpoint names the plugin)."""
        names = [name for name in self.extensions if name != "none"]
        if os.environ.get(PROMETHEUS_PORT_VARIABLE, "").strip() and "prometheus" not in names:
            names.append("prometheus")
        return names


#: Setting this variable names the ``prometheus`` extension (see :attr:`Settings.extensions`).
PROMETHEUS_PORT_VARIABLE = "FAPILOG_PROMETHEUS_PORT"


def _variables_for(loc: tuple[str | int, ...]) -> str:
    path = tuple(str(part) for part in loc if isinstance(part, str))
    names = ["FAPILOG_" + "__".join(p.upper() for p in path)] if path else []
    otel = _OTEL_NAMES.get(path)
    if otel:
        names.append(otel)
    if path == ("resource_attributes",):
        names.append("OTEL_RESOURCE_ATTRIBUTES")
    return " / ".join(names) or "settings"


def _describe_errors(exc: ValidationError) -> str:
    lines = ["invalid fapilog_otel settings:"]
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        setting = ".".join(str(p) for p in loc) or "settings"
        given = error.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"  {setting} [{_variables_for(loc)}]: {error.get('msg')}{shown}")
    return "\n".join(lines)
