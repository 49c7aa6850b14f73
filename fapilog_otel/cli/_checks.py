"""Reachability checks of the configured exporters' destinations, one per exporter.

Each check says exactly what it tried: a TCP connection (no TLS handshake, no request), or
whether a directory is writable. Endpoints are resolved by the exporters' own option
resolution, so the address checked is the one the exporter would use.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fapilog_otel.cli._masking import mask_url
from fapilog_otel.errors import FapilogError
from fapilog_otel.otlp._options import grpc_target, http_url, resolve_options
from fapilog_otel.settings import Settings


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was checked, whether it passed (``None``: nothing
    to check), and the details."""

    name: str
    ok: bool | None
    detail: str

    @property
    def status(self) -> str:
        """``ok``, ``FAIL`` or ``skip``."""
        return "skip" if self.ok is None else ("ok" if self.ok else "FAIL")

    def as_dict(self) -> dict[str, Any]:
        """The check as plain data."""
        return {"name": self.name, "ok": self.ok, "status": self.status, "detail": self.detail}


def tcp_connect(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """Try one TCP connection; return whether it was accepted and what happened."""
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            elapsed = (time.perf_counter() - started) * 1000
            return True, f"TCP connect to {host}:{port} accepted in {elapsed:.1f} ms"
    except socket.gaierror as exc:
        return False, f"TCP connect to {host}:{port}: name not resolved ({exc.strerror})"
    except TimeoutError:
        return False, f"TCP connect to {host}:{port}: no answer within {timeout:g} s"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return False, f"TCP connect to {host}:{port}: {reason}"


def _split_host_port(netloc: str, default_port: int) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(f"//{netloc}")
    return parts.hostname or "", parts.port or default_port


def otlp_address(settings: Settings) -> tuple[str, int, str]:
    """The host and port the OTLP exporter would connect to, and the masked endpoint.

    Raises:
        FapilogError: The endpoint is invalid (a ``ConfigurationError``).
    """
    options = resolve_options({}, settings.otlp)
    if options.protocol == "grpc":
        target, secure = grpc_target(options)
        host, port = _split_host_port(target, 4317)
        return host, port, f"{'https' if secure else 'http'}://{target} (gRPC)"
    url = http_url(options)
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port, f"{mask_url(url)} ({options.protocol})"


def check_otlp(settings: Settings, timeout: float) -> Check:
    """Whether the OTLP endpoint accepts a TCP connection."""
    try:
        host, port, endpoint = otlp_address(settings)
    except FapilogError as exc:
        return Check("exporter otlp", False, f"endpoint invalid: {exc}")
    ok, detail = tcp_connect(host, port, timeout)
    return Check("exporter otlp", ok, f"{endpoint}: {detail}")


def check_http(settings: Settings, timeout: float) -> Check:
    """Whether the webhook URL accepts a TCP connection."""
    url = getattr(getattr(settings, "http", None), "url", None)
    if not url:
        return Check("exporter http", False, "no URL: set FAPILOG_HTTP__URL")
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return Check("exporter http", False, f"{mask_url(url)}: invalid port")
    ok, detail = tcp_connect(parts.hostname or "", port, timeout)
    return Check("exporter http", ok, f"{mask_url(url)}: {detail}")


def writable_directory(path: Path) -> tuple[bool, str]:
    """Whether files can be made in ``path``, or in the nearest existing parent of it
    (missing directories are created by the file exporter and the spool)."""
    nearest = path
    while not nearest.exists() and nearest.parent != nearest:
        nearest = nearest.parent
    if not nearest.is_dir():
        return False, f"{nearest} is not a directory"
    if not os.access(nearest, os.W_OK | os.X_OK):
        return False, f"directory {nearest} is not writable"
    if nearest == path:
        return True, f"directory {path} is writable"
    return True, f"{path} does not exist; {nearest}, where it would be made, is writable"


def check_file(settings: Settings) -> Check:
    """Whether the file exporter can write its file."""
    if not settings.file.path:
        return Check("exporter file", False, "no path: set FAPILOG_FILE__PATH")
    path = Path(settings.file.path)
    if path.is_dir():
        return Check("exporter file", False, f"{path} is a directory")
    if path.exists() and not os.access(path, os.W_OK):
        return Check("exporter file", False, f"file {path} is not writable")
    ok, detail = writable_directory(path.parent)
    return Check("exporter file", ok, detail)


def check_spool(settings: Settings) -> Check:
    """Whether the OTLP spool directory is writable."""
    assert settings.spool_dir is not None
    ok, detail = writable_directory(Path(settings.spool_dir))
    return Check("spool_dir", ok, detail)


def destination_checks(settings: Settings, timeout: float) -> list[Check]:
    """One check per configured exporter (and the spool directory, when set)."""
    checks: list[Check] = []
    for name in settings.exporter_names:
        if name == "otlp":
            checks.append(check_otlp(settings, timeout))
        elif name == "http":
            checks.append(check_http(settings, timeout))
        elif name == "file":
            checks.append(check_file(settings))
        elif name == "console":
            stream = settings.console.stream
            checks.append(Check("exporter console", None, f"writes to {stream}; nothing to reach"))
        else:
            checks.append(
                Check(
                    f"exporter {name}",
                    None,
                    "a plugin: no destination check (see 'fapilog-otel plugins list' and the "
                    "live check)",
                )
            )
    if not settings.exporter_names:
        checks.append(Check("exporters", None, "none configured: records are counted as dropped"))
    if settings.spool_dir:
        checks.append(check_spool(settings))
    return checks
