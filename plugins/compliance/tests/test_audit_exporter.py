"""AuditFileExporter: what it writes, how it rotates, restarts, syncs and guards its files."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import stat
import threading
from pathlib import Path
from typing import Any

import fapilog_otel as fo
import orjson
import pytest
from audit_helpers import (
    KEY,
    audit_record,
    config,
    exporter,
    plain_record,
    read_lines,
    trail_files,
    write_lines,
    write_trail,
)
from fapilog_otel.testing import ExporterConformance, make_record, value_kinds
from fapilog_otel.typing import ExportResult, PartialSuccess

from fapilog_compliance.audit import AuditFileConfig, AuditFileExporter, verify_trail
from fapilog_compliance.audit.chain import GENESIS


def fields(line: bytes) -> dict[str, Any]:
    """A trail line's fields."""
    decoded: dict[str, Any] = orjson.loads(line)
    return decoded


def verified(path: Path, *, open_ok: bool = False) -> Any:
    """The verify report of an intact trail (fails the test otherwise)."""
    report = verify_trail(path, KEY.encode(), open_ok=open_ok)
    assert report.ok, report.summary()
    return report


@pytest.fixture(autouse=True)
def _no_audit_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the audit trail's variables."""
    monkeypatch.delenv("FAPILOG_AUDIT_PATH", raising=False)
    monkeypatch.delenv("FAPILOG_AUDIT_KEY", raising=False)


class TestConfiguration:
    def test_a_missing_path_names_its_variable(self) -> None:
        """Without a path the error names FAPILOG_AUDIT_PATH."""
        with pytest.raises(fo.ConfigurationError, match="FAPILOG_AUDIT_PATH"):
            AuditFileExporter(AuditFileConfig(key=KEY))

    def test_a_missing_key_names_its_variable(self, tmp_path: Path) -> None:
        """Without a key the error names FAPILOG_AUDIT_KEY."""
        with pytest.raises(fo.ConfigurationError, match="FAPILOG_AUDIT_KEY"):
            AuditFileExporter(AuditFileConfig(path=tmp_path / "audit.log"))

    def test_a_short_key_is_refused(self, tmp_path: Path) -> None:
        """A key under 16 bytes is refused, and the error does not quote it."""
        with pytest.raises(fo.ConfigurationError, match="16") as error:
            AuditFileExporter(AuditFileConfig(path=tmp_path / "a.log", key="short-secret"))
        assert "short-secret" not in str(error.value)

    def test_the_variables_are_the_defaults(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_AUDIT_PATH and FAPILOG_AUDIT_KEY configure an exporter made without config."""
        monkeypatch.setenv("FAPILOG_AUDIT_PATH", str(tmp_path / "env" / "audit.log"))
        monkeypatch.setenv("FAPILOG_AUDIT_KEY", KEY)
        trail = AuditFileExporter(diagnostics=False)
        trail.export([audit_record(1)])
        trail.shutdown()
        assert tmp_path / "env" / "audit.log" == trail.path
        assert 1 == verified(trail.path).records

    def test_unknown_settings_are_refused(self) -> None:
        """The config model forbids unknown keys."""
        with pytest.raises(ValueError, match="extra"):
            AuditFileConfig.model_validate({"path": "a", "key": KEY, "max_byte": 1})

    def test_the_key_is_never_shown(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """The key appears in no repr, no outcome and no diagnostic."""
        path = write_trail(tmp_path / "audit.log", 2)
        path.write_bytes(path.read_bytes() + b"garbage " + KEY.encode() + b"\n")
        trail = AuditFileExporter(config(path))
        trail.export([audit_record(3)])
        trail.shutdown()
        shown = [repr(trail), repr(config(path)), str(trail.outcomes()), capfd.readouterr().err]
        assert "a new chain starts" in shown[-1]
        assert all(KEY not in text for text in shown)


class TestLines:
    def test_each_mac_is_the_hmac_of_the_canonical_line(self, tmp_path: Path) -> None:
        """A line is its sorted-keys orjson body with the HMAC-SHA256 of that body added last."""
        path = write_trail(tmp_path / "audit.log", 3)
        for line in read_lines(path):
            content = fields(line)
            mac = content.pop("mac")
            body = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
            assert hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest() == mac
            assert body[:-1] + b',"mac":"' + mac.encode() + b'"}' == line

    def test_the_chain(self, tmp_path: Path) -> None:
        """A genesis header, consecutive seq numbers, each prev the MAC before, a seal last."""
        path = write_trail(tmp_path / "audit.log", 4)
        lines = [fields(line) for line in read_lines(path)]
        assert ["header", "record", "record", "record", "record", "seal"] == [
            line["type"] for line in lines
        ]
        assert (GENESIS, "genesis", 1) == (
            lines[0]["prev"],
            lines[0]["reason"],
            lines[0]["file"],
        )
        assert list(range(6)) == [line["seq"] for line in lines]
        assert [line["mac"] for line in lines[:-1]] == [line["prev"] for line in lines[1:]]
        assert (5, "shutdown") == (lines[-1]["lines"], lines[-1]["reason"])

    def test_a_record_line_holds_the_event(self, tmp_path: Path) -> None:
        """Time, severity, event name, body, attributes, scope, trace ids and service."""
        record = make_record("approved", {"audit.actor": "alice", "amount": 10})
        record.event_name = "audit.payment.approve"
        trail = exporter(tmp_path / "audit.log")
        assert ExportResult.SUCCESS == trail.export([record])
        trail.shutdown()
        line = fields(read_lines(trail.path)[1])
        assert {
            "body": "approved",
            "attributes": {"audit.actor": "alice", "amount": 10},
            "event_name": "audit.payment.approve",
            "severity": "INFO",
            "severity_number": 9,
            "scope": "conformance",
            "service": "conformance",
            "trace_id": f"{record.trace_id:032x}",
            "span_id": f"{record.span_id:016x}",
            "time_unix_nano": record.timestamp,
        }.items() <= line.items()
        assert line["time"].endswith("Z")

    def test_only_audit_events_are_written(self, tmp_path: Path) -> None:
        """Other records are skipped, and the batch still succeeds."""
        marked = plain_record("marked")
        marked.attributes = {"audit.event": True}
        not_marked = plain_record("almost")
        not_marked.attributes = {"audit.event": "yes"}
        other_event = plain_record()
        other_event.event_name = "auditing"
        trail = exporter(tmp_path / "audit.log")
        batch = [plain_record(), marked, not_marked, other_event, audit_record(1)]
        assert ExportResult.SUCCESS == trail.export(batch)
        assert ExportResult.SUCCESS == trail.export([plain_record()])
        trail.shutdown()
        records = [fields(line) for line in read_lines(trail.path)[1:-1]]
        assert ["marked", None] == [record["body"] for record in records]
        assert (2, 4) == (trail.outcomes()["written"], trail.outcomes()["skipped"])

    def test_no_audit_event_no_file(self, tmp_path: Path) -> None:
        """A trail is only created by its first audit event."""
        trail = exporter(tmp_path / "audit.log")
        trail.export([plain_record()])
        trail.shutdown()
        assert [] == list(tmp_path.iterdir())

    def test_hostile_values_verify(self, tmp_path: Path) -> None:
        """Every value kind a record may carry goes into the trail and verifies."""
        records = []
        for name, value in value_kinds().items():
            for record in (make_record(value), make_record(name, {name: value})):
                record.event_name = "audit"
                records.append(record)
        trail = exporter(tmp_path / "audit.log", max_bytes=0)
        assert ExportResult.SUCCESS == trail.export(records)
        trail.shutdown()
        assert len(records) == verified(trail.path).records

    def test_after_shutdown_exports_fail(self, tmp_path: Path) -> None:
        """Exports after shutdown fail; a second shutdown does nothing."""
        trail = exporter(tmp_path / "audit.log")
        trail.shutdown()
        trail.shutdown()
        assert ExportResult.FAILURE == trail.export([audit_record(1)])

    def test_threads(self, tmp_path: Path) -> None:
        """Exports from 8 threads at once make one intact chain."""
        trail = exporter(tmp_path / "audit.log", max_bytes=4000)

        def run(thread: int) -> None:
            for n in range(10):
                trail.export([audit_record(thread * 100 + n)])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        trail.shutdown()
        assert 80 == verified(trail.path).records


class TestRotation:
    def test_the_chain_goes_on_across_files(self, tmp_path: Path) -> None:
        """Each rotated file is sealed; the next header chains from the seal and names it."""
        path = write_trail(tmp_path / "audit.log", 10, max_bytes=1500)
        files = trail_files(path)
        assert [f"audit.log.{n}" for n in range(1, len(files))] + ["audit.log"] == [
            f.name for f in files
        ]
        for older, newer in itertools.pairwise(files):
            seal = fields(read_lines(older)[-1])
            header = fields(read_lines(newer)[0])
            assert ("seal", "rotation") == (seal["type"], seal["reason"])
            assert (seal["mac"], seal["seq"] + 1) == (header["prev"], header["seq"])
            assert ("rotation", older.name, seal["file"] + 1) == (
                header["reason"],
                header["previous"],
                header["file"],
            )
            assert os.path.getsize(older) < 1500 + 600
        assert 10 == verified(path).records

    def test_a_record_larger_than_max_bytes(self, tmp_path: Path) -> None:
        """An event larger than max_bytes gets a file of its own."""
        trail = exporter(tmp_path / "audit.log", max_bytes=500)
        trail.export([audit_record(1, note="x" * 2000), audit_record(2, note="y" * 2000)])
        trail.shutdown()
        assert 2 == verified(trail.path).records
        assert 2 == len(trail_files(trail.path))


class TestRestart:
    def test_two_containers_in_sequence(self, tmp_path: Path) -> None:
        """A second container goes on with the chain after the first one's sealed file."""
        path = tmp_path / "audit.log"
        for round in range(2):
            with fo.Container(fo.Settings(diagnostics=False), exporters=[exporter(path)]) as c:
                for n in range(3):
                    c.get_logger("app").event("audit.test", round=round, n=n)
        first, second = trail_files(path)
        assert "audit.log.1" == first.name
        header = fields(read_lines(second)[0])
        assert ("restart", 2, "audit.log.1") == (
            header["reason"],
            header["file"],
            header["previous"],
        )
        assert 6 == verified(path).records

    def test_a_sealed_file_is_never_appended_to(self, tmp_path: Path) -> None:
        """The next writer renames a sealed file and leaves its bytes as they were."""
        path = write_trail(tmp_path / "audit.log", 2)
        sealed = path.read_bytes()
        write_trail(path, 2)
        assert sealed == (tmp_path / "audit.log.1").read_bytes()

    def test_an_unsealed_trail_is_resumed(self, tmp_path: Path) -> None:
        """After a writer that never sealed (a crash), the next one appends a resume line."""
        path = write_trail(tmp_path / "audit.log", 3)
        write_lines(path, read_lines(path)[:-1])
        trail = exporter(path)
        trail.export([audit_record(4)])
        trail.shutdown()
        kinds = [fields(line)["type"] for line in read_lines(path)]
        assert ["header", "record", "record", "record", "resume", "record", "seal"] == kinds
        assert (1, 4) == (trail.outcomes()["resumes"], verified(path).records)

    @pytest.mark.parametrize("damage", ["torn", "edited"])
    def test_a_broken_tail_starts_a_new_chain(
        self, tmp_path: Path, damage: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A live file whose end does not verify is set aside; a header records the break."""
        path = write_trail(tmp_path / "audit.log", 3)
        lines = read_lines(path)
        if damage == "torn":
            path.write_bytes(path.read_bytes()[:-20])
        else:
            write_lines(path, [*lines[:-1], lines[-1].replace(b"shutdown", b"shutdowN")])
        broken = path.read_bytes()
        trail = AuditFileExporter(config(path))
        trail.export([audit_record(4)])
        trail.shutdown()
        assert broken == (tmp_path / "audit.log.1").read_bytes()
        header = fields(read_lines(path)[0])
        assert ("break", GENESIS, 2) == (header["reason"], header["prev"], header["file"])
        assert "audit.log line 5" in header["broken"]["problem"]
        assert 1 == trail.outcomes()["breaks"]
        assert "audit.log line 5" in capfd.readouterr().err
        report = verify_trail(path, KEY.encode())
        assert report.problem is not None
        assert ("audit.log.1", 5) == (report.problem.file, report.problem.line)

    def test_a_missing_live_file_is_a_break(self, tmp_path: Path) -> None:
        """Rotated files without their live file: its events may be gone, so a break."""
        path = write_trail(tmp_path / "audit.log", 6, max_bytes=1200)
        rotated = len(trail_files(path)) - 1
        path.unlink()
        write_trail(path, 1)
        header = fields(read_lines(path)[0])
        problem = f"audit.log is missing, yet audit.log.{rotated} exists"
        assert ("break", rotated + 1) == (header["reason"], header["file"])
        assert problem == header["broken"]["problem"]
        report = verify_trail(path, KEY.encode())
        assert report.problem is not None
        assert ("audit.log", 1) == (report.problem.file, report.problem.line)
        assert "broken chain" in report.problem.message

    def test_an_empty_live_file_is_a_break(self, tmp_path: Path) -> None:
        """An emptied live file is set aside and reported, never taken for a new trail."""
        path = write_trail(tmp_path / "audit.log", 2)
        path.write_bytes(b"")
        write_trail(path, 1)
        assert b"" == (tmp_path / "audit.log.1").read_bytes()
        report = verify_trail(path, KEY.encode())
        assert report.problem is not None
        assert ("audit.log.1", 1) == (report.problem.file, report.problem.line)

    def test_a_failed_write_is_never_continued_blindly(self, tmp_path: Path) -> None:
        """A write cut short by an error leaves a torn line: the next export starts anew."""
        trail = exporter(tmp_path / "audit.log")
        trail.export([audit_record(1)])
        real_write = trail._write

        def half_then_fail(data: bytes) -> None:
            real_write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

        trail._write = half_then_fail  # type: ignore[method-assign]
        result = trail.export([audit_record(2)])
        assert isinstance(result, PartialSuccess) and 1 == result.rejected
        trail._write = real_write  # type: ignore[method-assign]
        assert ExportResult.SUCCESS == trail.export([audit_record(3)])
        trail.shutdown()
        outcomes = trail.outcomes()
        assert (1, 1, 1) == (outcomes["write_errors"], outcomes["failed"], outcomes["breaks"])
        assert "break" == fields(read_lines(trail.path)[0])["reason"]

    def test_a_second_writer_writes_a_trail_of_its_own(self, tmp_path: Path) -> None:
        """While one exporter holds the trail (another worker process, say), another one
        writes its audit events to its own trail, whose header says why; none is lost."""
        first, second = exporter(tmp_path / "audit.log"), exporter(tmp_path / "audit.log")
        first.export([audit_record(1)])
        assert ExportResult.SUCCESS == second.export([audit_record(2), plain_record()])
        third = exporter(tmp_path / "audit.log")
        result = third.export([audit_record(3)])
        assert isinstance(result, PartialSuccess) and 1 == result.rejected
        first.shutdown()
        second.shutdown()
        third.shutdown()
        assert 1 == verified(tmp_path / "audit.log").records
        own = tmp_path / f"audit.pid{os.getpid()}.log"
        assert 1 == verified(own).records
        header = fields(read_lines(own)[0])
        assert ("concurrent", "audit.log") == (header["reason"], header["concurrent"]["busy"])


class TestFiles:
    def test_permissions(self, tmp_path: Path) -> None:
        """Created directories are 0700, every file of the trail 0600, whatever the umask."""
        old = os.umask(0o022)
        try:
            path = write_trail(tmp_path / "a" / "b" / "audit.log", 6, max_bytes=1200)
        finally:
            os.umask(old)
        for directory in (tmp_path / "a", tmp_path / "a" / "b"):
            assert 0o700 == stat.S_IMODE(directory.stat().st_mode)
        files = [*trail_files(path), path.with_name("audit.log.lock")]
        assert len(files) > 2
        assert {0o600} == {stat.S_IMODE(f.stat().st_mode) for f in files}

    def test_an_existing_directory_keeps_its_mode(self, tmp_path: Path) -> None:
        """Only directories the exporter creates get 0700."""
        directory = tmp_path / "shared"
        directory.mkdir(mode=0o750)
        os.chmod(directory, 0o750)
        write_trail(directory / "audit.log", 1)
        assert 0o750 == stat.S_IMODE(directory.stat().st_mode)


class TestFsync:
    @pytest.mark.parametrize(
        ("policy", "per_export", "at_flush", "at_shutdown"),
        [("always", 1, 1, 1), ("normal", 0, 1, 1), ("off", 0, 0, 0)],
    )
    def test_each_policy(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        policy: str,
        per_export: int,
        at_flush: int,
        at_shutdown: int,
    ) -> None:
        """always syncs each batch; normal on flush and shutdown; off never. All verify."""
        calls: list[int] = []
        real_fsync = os.fsync
        trail = exporter(tmp_path / "audit.log", fsync=policy)
        trail.export([audit_record(0)])
        monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real_fsync(fd))
        counted = []
        for step in (
            lambda: trail.export([audit_record(1)]),
            lambda: trail.force_flush(),
            trail.shutdown,
        ):
            before = len(calls)
            step()
            counted.append(len(calls) - before)
        assert [per_export, at_flush, at_shutdown] == counted
        assert 2 == verified(trail.path).records


class TestByName:
    def test_settings_plugins_configure_it(self, tmp_path: Path) -> None:
        """OTEL_LOGS_EXPORTER-style naming with Settings.plugins: it sees every record."""
        path = tmp_path / "audit.log"
        settings = fo.Settings(
            exporters=["audit_file"],
            plugins={"audit_file": {"path": str(path), "key": KEY, "fsync": "off"}},
            diagnostics=False,
        )
        with fo.Container(settings) as c:
            log = c.get_logger("app")
            log.info("ordinary")
            log.event("audit.login", **{"audit.actor": "bob"})
            assert c.flush(5.0)
            outcomes = c.stats()["exporters"]["audit_file"]["outcomes"]
        assert (1, 1) == (outcomes["written"], outcomes["skipped"])
        assert 1 == verified(path).records

    def test_unknown_plugin_settings_fail_the_container(self, tmp_path: Path) -> None:
        """A misspelt setting fails when the container is made."""
        settings = fo.Settings(
            exporters=["audit_file"],
            plugins={"audit_file": {"path": str(tmp_path / "a.log"), "key": KEY, "fsnyc": "off"}},
        )
        with pytest.raises(fo.ConfigurationError, match="fsnyc"):
            fo.Container(settings)


_paths = itertools.count()


class TestConformance(ExporterConformance):
    """The plugin kit's checks (the records it sends are not audit events: all skipped)."""

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_exporter(self) -> AuditFileExporter:
        return exporter(self.directory / f"trail{next(_paths)}" / "audit.log")
