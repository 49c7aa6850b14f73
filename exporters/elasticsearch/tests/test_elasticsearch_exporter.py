"""The Elasticsearch exporter against the osmem emulator and a scripted ``_bulk`` server,
directly and by name through a real container. The distribution is installed, so its entry
point is real."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fapilog_otel import ConfigurationError, Container, Settings
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.testing import ExporterConformance
from fapilog_otel.typing import ExportResult, PartialSuccess
from opentelemetry.sdk.resources import Resource
from servers import Emulator, ScriptedBulk, emulator, items

import fapilog_elasticsearch
from fapilog_elasticsearch import ElasticsearchConfig, ElasticsearchExporter

TIME = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


def record(
    body: Any = "order placed", attributes: dict[str, Any] | None = None, **kw: Any
) -> LogRecord:
    """An INFO record at a fixed time, with a trace and a resource."""
    fields: dict[str, Any] = {
        "timestamp": TIME,
        "severity_number": 9,
        "severity_text": "INFO",
        "scope": Scope("orders"),
        "resource": Resource({"service.name": "checkout", "deployment.environment": "prod"}),
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
    }
    return LogRecord(body=body, attributes=dict(attributes or {}), **{**fields, **kw})


def exporter(url: str, **settings: Any) -> ElasticsearchExporter:
    """An exporter for ``url`` with quick retries, reading no environment."""
    return ElasticsearchExporter(
        ElasticsearchConfig(url=url, **settings), environ={}, initial_backoff=0.01
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Emulator]:
    with emulator() as server:
        yield server


class TestConformance(ExporterConformance):
    @pytest.fixture(autouse=True)
    def _server(self, cluster: Emulator) -> None:
        self.cluster = cluster

    def make_exporter(self) -> Any:
        return exporter(self.cluster.url, index="conformance-%Y.%m.%d")


class TestPublicNames:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ is sorted and every name in it exists."""
        names = fapilog_elasticsearch.__all__
        assert sorted(names) == names
        assert all(hasattr(fapilog_elasticsearch, name) for name in names)


class TestDocuments:
    def test_a_document_is_mapped_to_ecs_names(self, cluster: Emulator) -> None:
        """Searching the document back gives exactly the documented ECS mapping."""
        attributes = {
            "order_id": 7,
            "http.route": "/orders",
            "http.request.method": "POST",
            "exception.type": "ValueError",
            "exception.message": "bad",
            "exception.stacktrace": "Traceback...",
            "cart": {"items": 3},
        }
        sent = exporter(cluster.url, index="mapped", dataset="checkout.log")
        assert ExportResult.SUCCESS == sent.export([record(attributes=attributes)])
        expected = {
            "@timestamp": "2026-01-01T00:00:00.123456789Z",
            "message": "order placed",
            "log": {"level": "INFO", "logger": "orders"},
            "event": {"severity": 9, "dataset": "checkout.log"},
            "trace": {"id": "0af7651916cd43dd8448eb211c80319c"},
            "span": {"id": "b7ad6b7169203331"},
            "service": {"name": "checkout", "environment": "prod"},
            "http": {"request": {"method": "POST"}},
            "error": {"type": "ValueError", "message": "bad", "stack_trace": "Traceback..."},
            "labels": {"order_id": 7, "http_route": "/orders", "cart": {"items": 3}},
            "ecs": {"version": "8.11.0"},
        }
        assert [expected] == cluster.search("mapped")

    def test_bodies_levels_and_a_custom_prefix(self, cluster: Emulator) -> None:
        """Map bodies become JSON text, the level comes from the number, the prefix applies."""
        sent = exporter(cluster.url, index="shapes", attributes_prefix="fields")
        sent.export(
            [
                record({"a": 1}, {"k": "v"}, severity_text=None, severity_number=17),
                record(None, timestamp=TIME + 1, trace_id=0, span_id=0),
            ]
        )
        first, second = cluster.search("shapes")
        assert '{"a":1}' == first["message"]
        assert {"level": "ERROR", "logger": "orders"} == first["log"]
        assert {"k": "v"} == first["fields"]
        assert "message" not in second and "trace" not in second and "span" not in second

    def test_the_record_event_dataset_wins(self) -> None:
        """A record's event.dataset attribute overrides the setting."""
        document = fapilog_elasticsearch.to_document(
            record(attributes={"event.dataset": "mine"}), TIME, dataset="configured"
        )
        assert "mine" == document["event"]["dataset"]


class TestIndexNames:
    def test_records_are_filed_by_their_utc_date(self, cluster: Emulator) -> None:
        """Each record goes to the index its own time names, in UTC."""
        day = 86_400 * 1_000_000_000
        sent = exporter(cluster.url, index="dated-%Y.%m.%d")
        sent.export([record("one"), record("two", timestamp=TIME + day)])
        assert {"dated-2026.01.01", "dated-2026.01.02"} <= cluster.indices()
        assert ["two"] == [d["message"] for d in cluster.search("dated-2026.01.02")]

    def test_a_data_stream_gets_create_actions(self) -> None:
        """With data_stream every action is create into that one name."""
        with ScriptedBulk() as server:
            exporter(server.url, data_stream="logs-app-default").export([record()])
        ((_, pairs),) = server.requests
        assert [{"create": {"_index": "logs-app-default"}}] == [a for a, _ in pairs]

    def test_the_default_index(self) -> None:
        """Without index or data_stream, records go to logs-fapilog-<date>."""
        target = fapilog_elasticsearch.Target(fapilog_elasticsearch.DEFAULT_INDEX)
        assert "logs-fapilog-2026.01.01" == target.index_name(TIME)


class TestPerItemErrors:
    def test_a_mapping_failure_is_counted_and_not_retried(self, cluster: Emulator) -> None:
        """The emulator's mapper_parsing_exception is counted; the good document is kept."""
        sent = exporter(cluster.url, index="conflict")
        sent.export([record("number", {"x": 1})])
        result = sent.export([record("object", {"x": {"y": 1}}), record("ok", {"x": 2})])
        assert isinstance(result, PartialSuccess)
        assert 1 == result.rejected
        assert 1 == sent.outcomes()["mapper_parsing_exception"]
        assert "retries" not in sent.outcomes()
        assert ["number", "ok"] == [d["message"] for d in cluster.search("conflict")]

    def test_only_items_failed_with_429_or_5xx_are_sent_again(self) -> None:
        """The second request holds just the 429 and 503 items; the 400 is counted."""
        first = items(201, 429, (400, "mapper_parsing_exception"), 503)
        with ScriptedBulk(first) as server:
            sent = exporter(server.url)
            result = sent.export([record(name) for name in "abcd"])
        assert isinstance(result, PartialSuccess) and 1 == result.rejected
        assert ["a", "b", "c", "d"] == server.messages(0)
        assert ["b", "d"] == server.messages(1)
        assert 2 == len(server.requests)
        outcomes = sent.outcomes()
        assert 1 == outcomes["mapper_parsing_exception"]
        assert (1, 1, 1, 1) == (
            outcomes["item_429"],
            outcomes["item_503"],
            outcomes["retries"],
            outcomes["partial_retry"],
        )

    def test_items_failing_until_the_timeout_are_counted_as_exhausted(self) -> None:
        """Retried items still failing when the timeout runs out count as retries_exhausted."""
        always = lambda pairs: items(*[429] * len(pairs))  # noqa: E731
        with ScriptedBulk(*[always] * 100) as server:
            sent = exporter(server.url, timeout_ms=300)
            result = sent.export([record("a"), record("b")])
        assert ExportResult.FAILURE == result
        assert 2 == sent.outcomes()["retries_exhausted"]
        assert len(server.requests) >= 2

    def test_a_whole_request_503_is_retried_after_retry_after(self) -> None:
        """A 503 with Retry-After: 1 is sent again, after waiting about a second."""
        with ScriptedBulk((503, {"error": "busy"}, {"Retry-After": "1"})) as server:
            sent = exporter(server.url)
            started = time.monotonic()
            assert ExportResult.SUCCESS == sent.export([record()])
        assert time.monotonic() - started >= 0.9
        assert 2 == len(server.requests)
        assert 1 == sent.outcomes()["http_503"]

    def test_a_whole_request_400_is_final(self) -> None:
        """A 400 for the request is not retried and every record counts not_retryable."""
        with ScriptedBulk((400, {"error": {"type": "parse_exception"}}, {})) as server:
            sent = exporter(server.url)
            assert ExportResult.FAILURE == sent.export([record(), record()])
        assert 1 == len(server.requests)
        assert 2 == sent.outcomes()["not_retryable"]

    def test_a_refused_connection_is_retried_until_the_timeout(self) -> None:
        """Nothing listening: connection errors retried, then retries_exhausted."""
        from servers import free_port

        sent = exporter(f"http://127.0.0.1:{free_port()}", timeout_ms=200)
        assert ExportResult.FAILURE == sent.export([record()])
        assert sent.outcomes()["connection_error"] >= 1
        assert 1 == sent.outcomes()["retries_exhausted"]


class TestAuthentication:
    def test_an_api_key_header(self) -> None:
        """ApiKey <encoded> is sent as given; id:key is base64-encoded."""
        with ScriptedBulk() as server:
            exporter(server.url, api_key=API_KEY).export([record()])
            exporter(server.url, api_key="id:secret").export([record()])
        assert f"ApiKey {API_KEY}" == server.requests[0][0]["Authorization"]
        assert (
            "ApiKey " + base64.b64encode(b"id:secret").decode()
            == server.requests[1][0]["Authorization"]
        )

    def test_basic_auth_and_the_request_headers(self) -> None:
        """Basic auth, NDJSON content type and gzip are on every request."""
        with ScriptedBulk() as server:
            exporter(server.url, username="elastic", password="changeme").export([record()])
        headers = server.requests[0][0]
        assert "Basic " + base64.b64encode(b"elastic:changeme").decode() == headers["Authorization"]
        assert "application/x-ndjson" == headers["Content-Type"]
        assert "gzip" == headers["Content-Encoding"]

    def test_secrets_are_never_shown(self, capfd: pytest.CaptureFixture[str]) -> None:
        """Reprs and diagnostics mask credentials, even when the server quotes them back."""
        quoted_key = (401, {"error": f"bad key ApiKey {API_KEY}"}, {})
        quoted_password = (401, {"error": "bad password changeme"}, {})
        with ScriptedBulk(quoted_key, quoted_password) as server:
            keyed = ElasticsearchExporter(
                ElasticsearchConfig(url=server.url, api_key=API_KEY), environ={}
            )
            keyed.export([record()])
            config = ElasticsearchConfig(url=server.url, username="u", password="changeme")
            basic = ElasticsearchExporter(config, environ={})
            basic.export([record()])
        shown = repr(keyed) + repr(basic) + repr(config) + "".join(capfd.readouterr())
        assert "[REDACTED]" in shown
        assert API_KEY not in shown and "changeme" not in shown

    def test_conflicting_credentials_are_refused(self) -> None:
        """An API key with a user, or a user without a password, fails at construction."""
        with pytest.raises(ConfigurationError):
            exporter("http://x", api_key="k", username="u", password="p")
        with pytest.raises(ConfigurationError):
            exporter("http://x", username="u")


class TestConfiguration:
    def test_url_and_credentials_come_from_the_environment(self) -> None:
        """ELASTICSEARCH_URL and ELASTICSEARCH_USERNAME/PASSWORD are read."""
        with ScriptedBulk() as server:
            environ = {
                "ELASTICSEARCH_URL": server.url,
                "ELASTICSEARCH_USERNAME": "elastic",
                "ELASTICSEARCH_PASSWORD": "pw",
            }
            sent = ElasticsearchExporter(environ=environ)
            assert ExportResult.SUCCESS == sent.export([record()])
        assert server.url + "/_bulk" == sent.url
        assert server.requests[0][0]["Authorization"].startswith("Basic ")

    def test_plugin_settings_win_over_the_environment(self) -> None:
        """A plugin setting URL is used instead of ELASTICSEARCH_URL."""
        sent = ElasticsearchExporter(
            ElasticsearchConfig(url="http://es:9200/proxy/"),
            environ={"ELASTICSEARCH_URL": "http://other:9200"},
        )
        assert "http://es:9200/proxy/_bulk" == sent.url

    def test_a_missing_url_is_refused(self) -> None:
        """No URL anywhere: ConfigurationError naming the variable."""
        with pytest.raises(ConfigurationError, match="ELASTICSEARCH_URL"):
            ElasticsearchExporter(environ={})

    def test_settings_from_fapilog_plugins_variables(
        self, cluster: Emulator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_PLUGINS__ELASTICSEARCH__* and ELASTICSEARCH_URL configure the plugin."""
        monkeypatch.setenv("ELASTICSEARCH_URL", cluster.url)
        monkeypatch.setenv("FAPILOG_PLUGINS__ELASTICSEARCH__INDEX", "from-env")
        monkeypatch.setenv("FAPILOG_PLUGINS__ELASTICSEARCH__DATASET", "env.log")
        with Container(Settings(exporters=["elasticsearch"], diagnostics=False)) as c:
            c.get_logger("app").info("configured")
        (document,) = cluster.search("from-env")
        assert "env.log" == document["event"]["dataset"]


class TestContainer:
    def test_every_record_is_accounted(self, cluster: Emulator) -> None:
        """Loaded by name, 200 records are all exported and all searchable."""
        settings = Settings(
            exporters=["elasticsearch"],
            plugins={"elasticsearch": {"url": cluster.url, "index": "container-%Y"}},
            diagnostics=False,
        )
        with Container(settings) as c:
            log = c.get_logger("load")
            for n in range(200):
                log.info("record", n=n)
        stats = c.stats()
        assert 200 == stats["submitted"]
        exported = stats["exporters"]["elasticsearch"]
        assert 200 == exported["exported"]
        assert 0 == exported["failed"]
        year = time.strftime("%Y", time.gmtime())
        assert 200 == len(cluster.search(f"container-{year}"))
