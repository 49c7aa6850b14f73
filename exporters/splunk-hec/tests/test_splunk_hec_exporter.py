"""The Splunk HEC exporter against a fake HEC (``splunk_hec_fake``), directly and by name
through a real container. The distribution is installed, so its entry point is real."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fapilog_otel import ConfigurationError, Container, Settings
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.testing import ExporterConformance, check_exporter
from fapilog_otel.typing import ExportResult
from opentelemetry.sdk.resources import Resource
from splunk_hec_fake import FakeHec, reply

import fapilog_splunk_hec
from fapilog_splunk_hec import EMPTY_EVENT, SplunkHecConfig, SplunkHecExporter

TOKEN = "11111111-2222-3333-4444-555555555555"
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331


def record(body: Any = "order placed", attributes: dict[str, Any] | None = None) -> LogRecord:
    """An INFO record at a fixed time, with a trace and a resource."""
    return LogRecord(
        timestamp=1_767_225_600_123_456_789,
        severity_number=9,
        severity_text="INFO",
        body=body,
        attributes=dict(attributes or {}),
        scope=Scope("orders"),
        resource=Resource({"service.name": "checkout"}),
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
    )


def exporter(hec: FakeHec, **settings: Any) -> SplunkHecExporter:
    """An exporter for ``hec`` with quick retries, reading no environment."""
    config = SplunkHecConfig(url=hec.url, token=settings.pop("token", hec.token), **settings)
    return SplunkHecExporter(config, environ={}, initial_backoff=0.01)


@pytest.fixture
def hec() -> Iterator[FakeHec]:
    with FakeHec(TOKEN) as server:
        yield server


class TestConformance(ExporterConformance):
    @pytest.fixture(autouse=True)
    def _server(self, hec: FakeHec) -> None:
        self.hec = hec

    def make_exporter(self) -> Any:
        return exporter(self.hec)


class TestCheckExporter:
    def test_the_whole_kit_passes_without_pytest(self, hec: FakeHec) -> None:
        """check_exporter runs every conformance check and none fails."""
        check_exporter(lambda: exporter(hec))


class TestEnvelope:
    def test_an_event_is_shaped_as_the_collector_shapes_it(self, hec: FakeHec) -> None:
        """Body in event, time in epoch seconds (ms), attributes/severity/trace in fields."""
        sent = exporter(hec, index="main", source="checkout-svc", sourcetype="_json")
        assert ExportResult.SUCCESS == sent.export([record(attributes={"order_id": 7})])
        expected = {
            "time": 1767225600.123,
            "source": "checkout-svc",
            "sourcetype": "_json",
            "index": "main",
            "event": "order placed",
            "fields": {
                "service.name": "checkout",
                "order_id": 7,
                "otel.log.severity.text": "INFO",
                "otel.log.severity.number": 9,
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331",
                "otel.scope.name": "orders",
            },
        }
        assert [expected] == hec.events

    def test_attributes_override_the_configured_metadata(self, hec: FakeHec) -> None:
        """host.name and com.splunk.* go to the top level and leave fields."""
        sent = exporter(hec, index="main", host="configured", source="s", sourcetype="t")
        attributes = {
            "host.name": "web-1",
            "com.splunk.index": "audit",
            "com.splunk.source": "payments",
            "com.splunk.sourcetype": "app:json",
            "com.splunk.hec.access_token": "never-sent",
            "user": "ada",
        }
        sent.export([record(attributes=attributes), record("second")])
        first, second = hec.events
        top = {key: first[key] for key in ("host", "index", "source", "sourcetype")}
        assert {
            "host": "web-1",
            "index": "audit",
            "source": "payments",
            "sourcetype": "app:json",
        } == top
        assert "ada" == first["fields"]["user"]
        assert not {"host.name", "com.splunk.hec.access_token"} & set(first["fields"])
        assert ("configured", "main", "s", "t") == (
            second["host"],
            second["index"],
            second["source"],
            second["sourcetype"],
        )

    def test_body_shapes_and_flattened_fields(self, hec: FakeHec) -> None:
        """Map bodies stay JSON, empty bodies (also b"") get a placeholder, fields flatten."""
        exporter(hec).export(
            [
                record({"order": 7, "items": ["a"]}, {"http": {"method": "GET"}}),
                record(None, {"tags": [1, "x"], "rows": [{"a": 1}], "raw": b"\x00"}),
                record(b""),
            ]
        )
        mapped, empty, empty_bytes = hec.events
        assert {"order": 7, "items": ["a"]} == mapped["event"]
        assert "GET" == mapped["fields"]["http.method"]
        assert EMPTY_EVENT == empty["event"]
        assert EMPTY_EVENT == empty_bytes["event"]
        assert [1, "x"] == empty["fields"]["tags"]
        assert '[{"a":1}]' == empty["fields"]["rows"]
        assert "AA==" == empty["fields"]["raw"]

    def test_one_request_gzipped_with_the_token_and_json_objects_in_a_row(
        self, hec: FakeHec
    ) -> None:
        """A batch is one gzipped POST to /services/collector/event, Splunk-authorized."""
        exporter(hec).export([record("a"), record("b"), record("c")])
        (request,) = hec.event_requests
        assert "/services/collector/event" == request.path
        assert f"Splunk {TOKEN}" == request.headers["Authorization"]
        assert "gzip" == request.headers["Content-Encoding"]
        assert gzip.decompress(request.raw) == request.body
        assert 3 == request.body.count(b"\n")
        assert ["a", "b", "c"] == [event["event"] for event in request.events]

    def test_compression_none_sends_plain_json(self, hec: FakeHec) -> None:
        """compression='none' sends the events uncompressed."""
        exporter(hec, compression="none").export([record()])
        (request,) = hec.event_requests
        assert "Content-Encoding" not in request.headers
        assert request.raw == request.body


class TestReplies:
    @pytest.mark.parametrize(
        ("answer", "reason"),
        [
            (reply(9), "hec_server_busy"),
            ((503, {}), "http_503"),
            (reply(8), "hec_internal_server_error"),
        ],
    )
    def test_busy_and_transient_answers_are_retried(
        self, hec: FakeHec, answer: tuple[int, dict[str, Any]], reason: str
    ) -> None:
        """Two transient failures, then success: delivered, each failure counted."""
        hec.replies = [answer, answer]
        sent = exporter(hec)
        assert ExportResult.SUCCESS == sent.export([record()])
        assert 3 == len(hec.event_requests)
        assert {reason: 2, "retries": 2} == sent.outcomes()

    @pytest.mark.parametrize(
        ("token", "disabled", "reason"),
        [
            ("wrong-token-value", (), "hec_invalid_token"),
            ("disabled-token-1", ("disabled-token-1",), "hec_token_disabled"),
        ],
    )
    def test_token_errors_are_not_retried(
        self, token: str, disabled: tuple[str, ...], reason: str
    ) -> None:
        """A bad or disabled token fails the batch at once, counted by reason."""
        with FakeHec(TOKEN, disabled_tokens=disabled) as hec:
            sent = exporter(hec, token=token)
            assert ExportResult.FAILURE == sent.export([record(), record()])
            assert 1 == len(hec.event_requests)
        assert {reason: 1, "not_retryable": 2} == sent.outcomes()

    @pytest.mark.parametrize(
        ("code", "reason"),
        [
            (6, "hec_invalid_data_format"),
            (7, "hec_incorrect_index"),
            (12, "hec_event_field_required"),
            (13, "hec_event_field_blank"),
        ],
    )
    def test_format_errors_are_not_retried(self, hec: FakeHec, code: int, reason: str) -> None:
        """A request HEC refuses as malformed is dropped after one attempt."""
        hec.replies = [reply(code, **{"invalid-event-number": 0})]
        sent = exporter(hec)
        assert ExportResult.FAILURE == sent.export([record()])
        assert 1 == len(hec.event_requests)
        assert {reason: 1, "not_retryable": 1} == sent.outcomes()

    def test_an_index_the_token_may_not_use_is_refused_by_the_fake(self) -> None:
        """The fake's own index check gives code 7, which is final."""
        with FakeHec(TOKEN, allowed_indexes=("main",)) as hec:
            sent = exporter(hec, index="secret")
            assert ExportResult.FAILURE == sent.export([record()])
        assert {"hec_incorrect_index": 1, "not_retryable": 1} == sent.outcomes()

    def test_retries_stop_at_the_timeout(self, hec: FakeHec) -> None:
        """Busy forever: given up within the export timeout, records counted."""
        hec.replies = [reply(9)] * 1000
        sent = exporter(hec, timeout_ms=300)
        assert ExportResult.FAILURE == sent.export([record()])
        assert 1 == sent.outcomes()["retries_exhausted"]
        assert len(hec.event_requests) > 1


class TestAcknowledgment:
    def test_an_acknowledged_batch_succeeds_after_polling(self) -> None:
        """ackId read, /services/collector/ack polled on the channel until true."""
        with FakeHec(TOKEN, ack=True, ack_after_polls=2) as hec:
            sent = exporter(hec, ack=True, ack_poll_interval_ms=10)
            assert ExportResult.SUCCESS == sent.export([record()])
            assert ExportResult.SUCCESS == sent.export([record()])
            polls = [r for r in hec.requests if r.path == "/services/collector/ack"]
        assert {sent.channel} == {r.headers["X-Splunk-Request-Channel"] for r in hec.requests}
        assert [{"acks": [0]}] * 3 + [{"acks": [1]}] * 3 == [
            __import__("json").loads(r.body) for r in polls
        ]
        assert {"ack_pending": 4} == sent.outcomes()

    def test_a_batch_never_acknowledged_fails_after_the_ack_timeout(self) -> None:
        """No ack within ack_timeout_ms: the batch counts as failed, unacknowledged."""
        with FakeHec(TOKEN, ack=True, ack_after_polls=None) as hec:
            sent = exporter(hec, ack=True, ack_timeout_ms=300, ack_poll_interval_ms=20)
            started = time.monotonic()
            assert ExportResult.FAILURE == sent.export([record(), record()])
            waited = time.monotonic() - started
        assert waited >= 0.25
        outcomes = sent.outcomes()
        assert 2 == outcomes["unacknowledged"]
        assert outcomes["ack_pending"] >= 2

    def test_no_ack_id_counts_as_unacknowledged(self, hec: FakeHec) -> None:
        """Acks asked for, token without them: the records are not claimed delivered."""
        sent = exporter(hec, ack=True)
        assert ExportResult.FAILURE == sent.export([record()])
        assert {"ack_id_missing": 1, "unacknowledged": 1} == sent.outcomes()

    def test_without_ack_no_channel_is_sent(self, hec: FakeHec) -> None:
        """Acknowledgment off: no channel header, no ack query."""
        exporter(hec).export([record()])
        assert ["/services/collector/event"] == [r.path for r in hec.requests]
        assert "X-Splunk-Request-Channel" not in hec.requests[0].headers


class TestSecrets:
    def test_the_token_is_never_in_repr_or_diagnostics(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A server echoing the token back: the diagnostics mask it; reprs never show it."""
        with FakeHec(TOKEN) as hec:
            hec.replies = [(403, {"text": f"Invalid token Splunk {TOKEN}", "code": 4})]
            config = SplunkHecConfig(url=hec.url, token=TOKEN)
            sent = SplunkHecExporter(config, environ={})
            sent.export([record()])
        captured = capfd.readouterr()
        assert "hec_invalid_token" in sent.outcomes()
        assert "[REDACTED]" in captured.err
        for text in (captured.out, captured.err, repr(sent), repr(config), str(config)):
            assert TOKEN not in text


class TestConfiguration:
    def test_splunk_hec_variables_configure_it(self, hec: FakeHec) -> None:
        """SPLUNK_HEC_URL/TOKEN/INDEX/SOURCE/SOURCETYPE/HOST are read when unset."""
        environ = {
            "SPLUNK_HEC_URL": hec.url + "/services/collector",
            "SPLUNK_HEC_TOKEN": TOKEN,
            "SPLUNK_HEC_INDEX": "main",
            "SPLUNK_HEC_SOURCE": "env-source",
            "SPLUNK_HEC_SOURCETYPE": "env-type",
            "SPLUNK_HEC_HOST": "env-host",
        }
        sent = SplunkHecExporter(environ=environ)
        assert ExportResult.SUCCESS == sent.export([record()])
        (event,) = hec.events
        assert ("main", "env-source", "env-type", "env-host") == (
            event["index"],
            event["source"],
            event["sourcetype"],
            event["host"],
        )

    def test_settings_win_over_the_variables(self, hec: FakeHec) -> None:
        """A plugin setting is used before SPLUNK_HEC_*."""
        environ = {
            "SPLUNK_HEC_URL": "http://127.0.0.1:9",
            "SPLUNK_HEC_TOKEN": "other-token",
            "SPLUNK_HEC_INDEX": "env",
        }
        config = SplunkHecConfig(url=hec.url, token=TOKEN, index="settings")
        assert ExportResult.SUCCESS == SplunkHecExporter(config, environ=environ).export([record()])
        assert "settings" == hec.events[0]["index"]

    @pytest.mark.parametrize(
        ("environ", "missing"),
        [
            ({"SPLUNK_HEC_TOKEN": "t0ken"}, "SPLUNK_HEC_URL"),
            ({"SPLUNK_HEC_URL": "http://h:8088"}, "SPLUNK_HEC_TOKEN"),
        ],
    )
    def test_a_missing_url_or_token_is_a_configuration_error(
        self, environ: dict[str, str], missing: str
    ) -> None:
        """The error names the variable to set."""
        with pytest.raises(ConfigurationError, match=missing):
            SplunkHecExporter(environ=environ)

    @pytest.mark.parametrize(
        ("url", "path"),
        [
            ("", "/services/collector/event"),
            ("/services/collector", "/services/collector/event"),
            ("/services/collector/event", "/services/collector/event"),
            ("/proxy/hec/event", "/proxy/hec/event"),
        ],
    )
    def test_url_paths(self, url: str, path: str) -> None:
        """A bare host gets Splunk's event path; a full path is kept."""
        config = SplunkHecConfig(url="http://splunk:8088" + url, token="t0ken")
        assert "http://splunk:8088" + path == SplunkHecExporter(config, environ={}).url


class TestThroughAContainer:
    def test_plugin_settings_from_the_environment_and_every_record_counted(
        self, hec: FakeHec, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Loaded by name with FAPILOG_PLUGINS__SPLUNK_HEC__*: every record delivered."""
        monkeypatch.setenv("FAPILOG_PLUGINS__SPLUNK_HEC__URL", hec.url)
        monkeypatch.setenv("FAPILOG_PLUGINS__SPLUNK_HEC__TOKEN", TOKEN)
        monkeypatch.setenv("FAPILOG_PLUGINS__SPLUNK_HEC__INDEX", "main")
        with Container(Settings(exporters=["splunk_hec"], diagnostics=False)) as container:
            log = container.get_logger("orders")
            for number in range(50):
                log.info("order placed", order_id=number)
            assert container.flush(10.0)
            stats = container.stats()
        assert (50, 50, 0, 0) == (
            stats["submitted"],
            stats["exported"],
            stats["failed"],
            stats["queued"],
        )
        assert list(range(50)) == [event["fields"]["order_id"] for event in hec.events]
        assert {"main"} == {event["index"] for event in hec.events}

    def test_failed_records_are_counted_by_the_container(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SPLUNK_HEC_* with a wrong token: every record counted failed, with the reason."""
        with FakeHec(TOKEN) as hec:
            monkeypatch.setenv("SPLUNK_HEC_URL", hec.url)
            monkeypatch.setenv("SPLUNK_HEC_TOKEN", "not-the-token")
            with Container(Settings(exporters=["splunk_hec"], diagnostics=False)) as container:
                for number in range(10):
                    container.get_logger("orders").info("refused", n=number)
                container.flush(10.0)
                stats = container.stats()
        assert (10, 0, 10) == (stats["submitted"], stats["exported"], stats["failed"])
        outcomes = stats["exporters"]["splunk_hec"]["outcomes"]
        assert 10 == outcomes["not_retryable"]

    def test_an_unknown_setting_is_refused(self) -> None:
        """A misspelt plugin setting fails the container, naming it."""
        settings = Settings(exporters=["splunk_hec"], plugins={"splunk_hec": {"tokne": "x"}})
        with pytest.raises(ConfigurationError, match="tokne"):
            Container(settings)


class TestPublicApi:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ lists every public name, sorted."""
        names = fapilog_splunk_hec.__all__
        assert sorted(names) == names
        assert all(hasattr(fapilog_splunk_hec, name) for name in names)
