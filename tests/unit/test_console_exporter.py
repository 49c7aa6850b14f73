"""Tests for the console exporter."""

from __future__ import annotations

import io
import sys
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.resources import Resource

from fapilog_otel.exporters.console import ConsoleExporter
from fapilog_otel.record import LogRecord, Scope, Severity
from fapilog_otel.typing import Exporter, ExportResult

# 2026-11-27T12:00:00.123456789Z
TS = 1_795_780_800_123_456_789


def make_record(body: str = "order placed", **attributes: Any) -> LogRecord:
    return LogRecord(
        timestamp=TS,
        severity_text="INFO",
        severity_number=Severity.INFO,
        body=body,
        attributes=attributes,
        scope=Scope("checkout"),
        resource=Resource({"service.name": "svc"}),
    )


class TtyStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


class CountingBytes(io.BytesIO):
    """A binary buffer that counts write calls."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: Any) -> int:
        self.writes += 1
        return super().write(data)


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture(autouse=True)
def _clean_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


class TestConsoleExporter:
    def test_is_an_exporter(self) -> None:
        """It satisfies the Exporter protocol and is named "console"."""
        assert isinstance(ConsoleExporter(), Exporter)
        assert "console" == ConsoleExporter.name

    def test_bad_format(self) -> None:
        """An unknown format fails at construction, naming the allowed values."""
        with pytest.raises(ValueError, match="'auto', 'json', 'pretty'"):
            ConsoleExporter(format="xml")

    def test_json_when_not_a_tty(self) -> None:
        """auto writes one JSON line per record to a stream that is not a TTY."""
        stream = io.StringIO()

        result = ConsoleExporter(stream).export([make_record("a", n=1), make_record("b")])

        lines = stream.getvalue().splitlines()
        assert ExportResult.SUCCESS == result
        assert ["a", "b"] == [orjson.loads(line)["body"] for line in lines]
        assert {"n": 1} == orjson.loads(lines[0])["attributes"]

    def test_pretty_on_a_tty(self) -> None:
        """auto writes coloured pretty lines to a TTY."""
        stream = TtyStringIO()

        ConsoleExporter(stream).export([make_record(n=1)])

        assert stream.getvalue().startswith("\x1b[2m2026-11-27 12:00:00.123\x1b[0m ")
        assert stream.getvalue().endswith("\n")

    def test_no_color_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """NO_COLOR turns colours off on a TTY."""
        monkeypatch.setenv("NO_COLOR", "1")
        stream = TtyStringIO()

        ConsoleExporter(stream).export([make_record()])

        assert "2026-11-27 12:00:00.123 INFO     checkout  order placed\n" == stream.getvalue()

    def test_force_color_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FORCE_COLOR turns colours on for pretty output to a non-TTY."""
        monkeypatch.setenv("FORCE_COLOR", "1")
        stream = io.StringIO()

        ConsoleExporter(stream, format="pretty").export([make_record()])

        assert "\x1b[" in stream.getvalue()

    def test_dumb_terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """TERM=dumb turns colours off on a TTY."""
        monkeypatch.setenv("TERM", "dumb")
        stream = TtyStringIO()

        ConsoleExporter(stream).export([make_record()])

        assert "\x1b[" not in stream.getvalue()

    def test_explicit_color_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """color=False beats a TTY, color=True beats NO_COLOR."""
        monkeypatch.setenv("NO_COLOR", "1")
        plain, colored = TtyStringIO(), io.StringIO()

        ConsoleExporter(plain, color=False).export([make_record()])
        ConsoleExporter(colored, format="pretty", color=True).export([make_record()])

        assert "\x1b[" not in plain.getvalue()
        assert "\x1b[" in colored.getvalue()

    def test_explicit_json_on_a_tty(self) -> None:
        """format="json" writes JSON even to a TTY, and never colours it."""
        stream = TtyStringIO()

        ConsoleExporter(stream, format="json", color=True).export([make_record()])

        assert "order placed" == orjson.loads(stream.getvalue())["body"]

    def test_default_stream_follows_sys_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With no stream, the exporter writes to sys.stdout as it is at export time."""
        exporter = ConsoleExporter()

        exporter.export([make_record("captured")])

        assert "captured" == orjson.loads(capsys.readouterr().out)["body"]

    def test_one_write_per_batch(self) -> None:
        """A whole batch goes to the binary buffer in a single write."""
        raw = CountingBytes()
        stream = io.TextIOWrapper(raw, encoding="utf-8")

        ConsoleExporter(stream).export([make_record(str(i)) for i in range(50)])

        assert 1 == raw.writes
        assert 50 == raw.getvalue().count(b"\n")

    def test_text_layer_flushed_first(self) -> None:
        """Text printed to the stream before the export comes out before the records."""
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="utf-8")
        stream.write("before\n")

        ConsoleExporter(stream).export([make_record()])

        assert raw.getvalue().startswith(b"before\n{")

    def test_binary_stream(self) -> None:
        """A binary stream gets the UTF-8 bytes."""
        stream = io.BytesIO()

        ConsoleExporter(stream).export([make_record("é")])

        assert "é" == orjson.loads(stream.getvalue())["body"]

    def test_pretty_to_binary_stream(self) -> None:
        """Pretty output to a binary stream is encoded as UTF-8."""
        stream = io.BytesIO()

        ConsoleExporter(stream, format="pretty").export([make_record("é")])

        assert stream.getvalue().endswith(b"\n")
        assert "é".encode() in stream.getvalue()

    def test_unencodable_text_is_escaped(self) -> None:
        """A pretty line with characters the stream cannot encode is escaped, not lost."""
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="ascii")

        result = ConsoleExporter(stream, format="pretty").export([make_record("café")])

        assert ExportResult.SUCCESS == result
        assert b"caf\\xe9" in raw.getvalue()

    def test_closed_stream_fails(self) -> None:
        """A closed stream makes the export fail without raising."""
        stream = io.StringIO()
        stream.close()

        assert ExportResult.FAILURE == ConsoleExporter(stream).export([make_record()])

    def test_broken_pipe_fails(self) -> None:
        """A broken pipe makes the export fail without raising."""
        assert ExportResult.FAILURE == ConsoleExporter(BrokenStream()).export([make_record()])

    def test_missing_stdout_fails(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With sys.stdout None (pythonw), the export fails without raising."""
        monkeypatch.setattr(sys, "stdout", None)

        assert ExportResult.FAILURE == ConsoleExporter().export([make_record()])

    def test_hostile_values_still_one_line_each(self) -> None:
        """Hostile attribute values produce valid JSON lines."""
        loop: list[Any] = []
        loop.append(loop)
        stream = io.StringIO()

        ConsoleExporter(stream).export(
            [make_record(b=b"\x00", n=float("nan"), i=2**100, c=loop), make_record()]
        )

        assert 2 == len([orjson.loads(line) for line in stream.getvalue().splitlines()])

    def test_force_flush(self) -> None:
        """force_flush succeeds on a working stream and reports a closed one."""
        stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        exporter = ConsoleExporter(stream)
        assert exporter.force_flush() is True

        stream.close()

        assert exporter.force_flush() is False

    def test_shutdown(self) -> None:
        """shutdown is idempotent, leaves the stream open and refuses later exports."""
        stream = io.StringIO()
        exporter = ConsoleExporter(stream)

        exporter.shutdown()
        exporter.shutdown()

        assert not stream.closed
        assert ExportResult.FAILURE == exporter.export([make_record()])
        assert "" == stream.getvalue()

    def test_shutdown_keeps_stdout_open(self) -> None:
        """Shutting down the default exporter does not close sys.stdout."""
        ConsoleExporter().shutdown()

        assert not sys.stdout.closed
