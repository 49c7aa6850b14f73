"""The SOX profile through a real container, its validator, and the audit_event helper."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import fapilog_otel as fo
import orjson
import pytest
from audit_helpers import KEY, audit_record, plain_record, read_lines
from fapilog_otel.exporters import InMemoryExporter

from fapilog_compliance.audit import (
    AuditFileExporter,
    AuditValidator,
    aaudit_event,
    audit_event,
    verify_trail,
)
from fapilog_compliance.audit.profile import sox


def records_of(path: Path) -> list[dict[str, Any]]:
    """The record lines of a trail's live file."""
    lines = [orjson.loads(line) for line in read_lines(path)]
    return [line for line in lines if line["type"] == "record"]


@pytest.fixture
def trail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FAPILOG_AUDIT_PATH and FAPILOG_AUDIT_KEY name a trail in a fresh directory."""
    path = tmp_path / "audit" / "audit.log"
    monkeypatch.setenv("FAPILOG_AUDIT_PATH", str(path))
    monkeypatch.setenv("FAPILOG_AUDIT_KEY", KEY)
    return path


def sox_settings(**settings: Any) -> fo.Settings:
    return fo.Settings(compliance=["sox"], exporters=["none"], diagnostics=False, **settings)


class TestSoxProfile:
    def test_a_container_writes_a_trail_that_verifies(self, trail: Path) -> None:
        """With compliance=["sox"], audit events reach the trail and it verifies."""
        with fo.Container(sox_settings()) as c:
            log = c.get_logger("payments")
            audit_event(log, "payment.approve", actor="alice", outcome="success", amount=12)
            log.info("not an audit event")
            audit_event(log, "payment.refund", actor="bob", outcome="denied")
        report = verify_trail(trail, KEY.encode())
        assert (True, 2, True) == (report.ok, report.records, report.sealed)
        first, second = records_of(trail)
        assert "audit.payment.approve" == first["event_name"]
        assert {
            "audit.actor": "alice",
            "audit.action": "payment.approve",
            "audit.outcome": "success",
            "amount": 12,
        } == first["attributes"]
        assert ("bob", "denied") == (
            second["attributes"]["audit.actor"],
            second["attributes"]["audit.outcome"],
        )

    def test_redaction_happens_before_the_trail(self, trail: Path) -> None:
        """The default redactors run before the trail: no secret reaches it."""
        with fo.Container(sox_settings()) as c:
            audit_event(
                c.get_logger("auth"),
                "user.login",
                actor="carol",
                outcome="success",
                password="hunter2",
            )
        (record,) = records_of(trail)
        assert "hunter2" not in trail.read_text()
        assert "carol" == record["attributes"]["audit.actor"]

    def test_an_incomplete_event_is_marked_not_dropped(
        self, trail: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """Events missing actor/action/outcome are marked, counted, warned about once, kept."""
        settings = fo.Settings(compliance=["sox"], exporters=["none"])
        with fo.Container(settings) as c:
            log = c.get_logger("ops")
            log.event("audit.deploy", **{"audit.action": "deploy"})
            log.event("audit", **{"audit.actor": "", "audit.action": "x", "audit.outcome": "ok"})
            assert c.flush(5.0)
            outcomes = c.stats()["exporters"]["audit_file"]["outcomes"]
        first, second = records_of(trail)
        assert ["audit.actor", "audit.outcome"] == first["attributes"]["audit.invalid"]
        assert ["audit.actor"] == second["attributes"]["audit.invalid"]
        assert (2, 2) == (outcomes["written"], outcomes["invalid"])
        assert 1 == capfd.readouterr().err.count("lacks audit.actor")
        assert verify_trail(trail, KEY.encode()).ok

    def test_no_path_fails_the_container(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without FAPILOG_AUDIT_PATH the container is not made, and the error says why."""
        monkeypatch.delenv("FAPILOG_AUDIT_PATH", raising=False)
        monkeypatch.setenv("FAPILOG_AUDIT_KEY", KEY)
        with pytest.raises(fo.ConfigurationError, match="FAPILOG_AUDIT_PATH"):
            fo.Container(sox_settings())

    def test_the_variable_loads_it(self, trail: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """FAPILOG_COMPLIANCE=sox gives the container the validator and the trail."""
        monkeypatch.setenv("FAPILOG_COMPLIANCE", "sox")
        with fo.Container(fo.Settings(exporters=["none"], diagnostics=False)) as c:
            assert ["audit_file"] == list(c.stats()["exporters"])
            assert "audit_validator" in c.stats()["processors"]

    def test_plugin_settings_win_over_the_variables(self, trail: Path, tmp_path: Path) -> None:
        """Settings.plugins["audit_file"] configures the profile's exporter."""
        other = tmp_path / "other.log"
        settings = sox_settings(plugins={"audit_file": {"path": str(other), "max_bytes": 0}})
        profile = sox(settings)
        (exporter,) = profile.exporters
        exporter.shutdown()
        assert ("sox", other) == (profile.name, exporter.path)

    def test_a_named_audit_file_exporter_is_not_doubled(self, trail: Path) -> None:
        """With the audit_file exporter named too, the profile adds no second trail."""
        profile = sox(fo.Settings(compliance=["sox"], exporters=["audit_file"]))
        assert () == tuple(profile.exporters)
        assert isinstance(profile.processors[0], AuditValidator)


class TestValidator:
    def test_other_records_are_untouched(self) -> None:
        """A record that is not an audit event goes through as it was."""
        record = plain_record()
        before = record.copy()
        assert before == AuditValidator(diagnostics=False).process(record)

    def test_a_complete_event_is_untouched(self) -> None:
        """An audit event with its three attributes is not marked."""
        validator = AuditValidator(diagnostics=False)
        record = validator.process(audit_record(1))
        assert ("audit.invalid" not in record.attributes, 0) == (
            True,
            validator.invalid,
        )

    def test_it_runs_in_the_redactor_stage(self) -> None:
        """It is a redactor, so the container runs it last."""
        assert "redactor" == AuditValidator.kind


class TestAuditEvent:
    def test_the_three_attributes_win(self) -> None:
        """Extra attributes cannot replace actor, action or outcome."""
        memory = InMemoryExporter()
        with fo.Container(fo.Settings(diagnostics=False), exporters=[memory]) as c:
            audit_event(
                c.get_logger("a"),
                "role.grant",
                actor="alice",
                outcome="success",
                role="admin",
                **{"audit.actor": "mallory"},
            )
        (record,) = memory.records
        assert "audit.role.grant" == record.event_name
        assert ("alice", "admin") == (record.attributes["audit.actor"], record.attributes["role"])

    def test_async(self, trail: Path) -> None:
        """aaudit_event logs the same event through an AsyncLogger."""

        async def log(c: fo.Container) -> None:
            await aaudit_event(c.get_async_logger("a"), "login", actor="dan", outcome="failure")

        with fo.Container(sox_settings()) as c:
            asyncio.run(log(c))
        (record,) = records_of(trail)
        assert ("audit.login", "dan") == (record["event_name"], record["attributes"]["audit.actor"])

    def test_exporter_type(self, trail: Path) -> None:
        """The profile's exporter is the audit_file exporter."""
        (exporter,) = sox(sox_settings()).exporters
        exporter.shutdown()
        assert isinstance(exporter, AuditFileExporter)
