"""The FastAPI integration: a real FastAPI app, TestClient/httpx and a real container."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from fapilog_otel.container import Container
from fapilog_otel.integrations.fastapi import RequestLogging, instrument
from fapilog_otel.record import LogRecord

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"

ACCESS = "http.access"


def make_app(container: Container) -> FastAPI:
    """An application whose endpoints log through ``container`` (logger ``app``)."""
    app = FastAPI()
    log = container.get_logger("app")
    alog = container.get_async_logger("app")
    tracer = TracerProvider().get_tracer("test")

    @app.get("/items/{item_id}")
    def read_item(item_id: int) -> dict[str, int]:
        log.info("reading item", item_id=item_id)
        return {"item_id": item_id}

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(status_code=418)

    @app.get("/unavailable")
    def unavailable() -> JSONResponse:
        return JSONResponse({"detail": "down"}, status_code=503)

    @app.get("/boom")
    def boom() -> None:
        log.info("about to fail")
        raise RuntimeError("kaboom")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/stream")
    def stream() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            for i in range(3):
                log.info("chunk", i=i)
                yield f"part{i};".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/traced")
    def traced() -> dict[str, str]:
        with tracer.start_as_current_span("work") as span:
            log.info("inside span")
        ctx = span.get_span_context()
        parent = span.parent
        return {
            "trace_id": format(ctx.trace_id, "032x"),
            "span_id": format(ctx.span_id, "016x"),
            "parent": format(parent.span_id, "016x") if parent else "",
        }

    @app.get("/slow/{n}")
    async def slow(n: int) -> dict[str, int]:
        await alog.info("start", n=n)
        await asyncio.sleep(0.05 * (3 - n % 3))
        await alog.info("end", n=n)
        return {"n": n}

    return app


@pytest.fixture
def pipeline(make_container: Any) -> tuple[Container, Any]:
    """A real container exporting into an in-memory exporter."""
    container, memory = make_container(redactors=[])
    return container, memory


@pytest.fixture
def app(pipeline: tuple[Container, Any]) -> FastAPI:
    """The test application, instrumented with the pipeline's container."""
    container, _ = pipeline
    application = make_app(container)
    instrument(application, container=container, exclude_paths=["/healthz"])
    return application


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    """A TestClient that turns unhandled exceptions into 500 answers, as a server does."""
    return TestClient(app, raise_server_exceptions=False)


def delivered(pipeline: tuple[Container, Any]) -> list[LogRecord]:
    """Flush the container and return every record its exporter received."""
    container, memory = pipeline
    assert container.flush()
    records: list[LogRecord] = memory.records
    return records


def by_scope(records: list[LogRecord], name: str) -> list[LogRecord]:
    """The records logged on the logger ``name``."""
    return [r for r in records if r.scope.name == name]


def access(pipeline: tuple[Container, Any]) -> LogRecord:
    """The one access record."""
    (record,) = by_scope(delivered(pipeline), ACCESS)
    return record


class TestRequestContext:
    def test_app_records_carry_the_request_attributes(
        self, client: TestClient, pipeline: Any
    ) -> None:
        """A record logged by an endpoint carries method, route template, path, client, id."""
        response = client.get("/items/42", headers={"X-Request-ID": "req-123"})

        assert 200 == response.status_code
        (record,) = by_scope(delivered(pipeline), "app")
        assert {
            "http.request.id": "req-123",
            "http.request.method": "GET",
            "http.route": "/items/{item_id}",
            "url.path": "/items/42",
            "client.address": "testclient",
            "item_id": 42,
        } == record.attributes

    def test_request_id_is_echoed(self, client: TestClient) -> None:
        """The incoming X-Request-ID comes back in the response header."""
        response = client.get("/items/1", headers={"X-Request-ID": "abc-1"})

        assert "abc-1" == response.headers["x-request-id"]

    def test_request_id_is_made_when_missing(self, client: TestClient, pipeline: Any) -> None:
        """Without X-Request-ID a new id is made, echoed, and put on the records."""
        first = client.get("/items/1").headers["x-request-id"]
        second = client.get("/items/2").headers["x-request-id"]

        assert first != second
        assert 32 == len(first)
        ids = [r.attributes["http.request.id"] for r in by_scope(delivered(pipeline), "app")]
        assert [first, second] == ids

    @pytest.mark.parametrize("bad", ["has space", "x" * 129, "tab\tid"])
    def test_unsafe_request_id_is_replaced(
        self, client: TestClient, pipeline: Any, bad: str
    ) -> None:
        """An X-Request-ID that is too long or not visible ASCII is not trusted."""
        echoed = client.get("/items/1", headers={"X-Request-ID": bad}).headers["x-request-id"]

        assert bad != echoed
        assert echoed == access(pipeline).attributes["http.request.id"]

    def test_context_ends_with_the_request(self, client: TestClient, pipeline: Any) -> None:
        """Records logged after the request carry none of its attributes."""
        container, _ = pipeline
        client.get("/items/1")
        container.get_logger("app").info("after")

        after = by_scope(delivered(pipeline), "app")[-1]
        assert {} == after.attributes

    def test_mounted_route_template_keeps_the_prefix(self, pipeline: Any) -> None:
        """A route of a mounted application is named with the mount's prefix."""
        container, _ = pipeline
        outer = FastAPI()
        inner = FastAPI()
        log = container.get_logger("app")

        @inner.get("/users/{user_id}")
        def user(user_id: str) -> dict[str, str]:
            log.info("user")
            return {"user_id": user_id}

        outer.mount("/v1", inner)
        instrument(outer, container=container)
        TestClient(outer).get("/v1/users/ann")

        (record,) = by_scope(delivered(pipeline), "app")
        assert "/v1/users/{user_id}" == record.attributes["http.route"]

    def test_concurrent_requests_keep_their_own_context(self, app: FastAPI, pipeline: Any) -> None:
        """Interleaved async requests each log with their own request id and path."""

        async def run() -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                responses = await asyncio.gather(
                    *(client.get(f"/slow/{n}", headers={"X-Request-ID": f"r{n}"}) for n in range(6))
                )
            assert [200] * 6 == [r.status_code for r in responses]

        asyncio.run(run())

        records = by_scope(delivered(pipeline), "app")
        assert 12 == len(records)
        for record in records:
            n = record.attributes["n"]
            assert f"r{n}" == record.attributes["http.request.id"]
            assert f"/slow/{n}" == record.attributes["url.path"]
            assert "/slow/{n}" == record.attributes["http.route"]


class TestTraceCorrelation:
    def test_traceparent_sets_trace_and_parent_span(
        self, client: TestClient, pipeline: Any
    ) -> None:
        """Without a current span, records carry the traceparent's trace id and span id."""
        client.get("/items/1", headers={"traceparent": TRACEPARENT})

        records = delivered(pipeline)
        assert 2 == len(records)
        for record in records:
            assert int(TRACE_ID, 16) == record.trace_id
            assert int(PARENT_ID, 16) == record.span_id
            assert 1 == record.trace_flags

    def test_no_traceparent_no_trace(self, client: TestClient, pipeline: Any) -> None:
        """Without traceparent and without a span, records have no trace id."""
        client.get("/items/1")

        assert [0, 0] == [r.trace_id for r in delivered(pipeline)]

    def test_invalid_traceparent_is_ignored(self, client: TestClient, pipeline: Any) -> None:
        """A malformed traceparent changes nothing and fails nothing."""
        response = client.get("/items/1", headers={"traceparent": "00-zz-yy-01"})

        assert 200 == response.status_code
        assert [0, 0] == [r.trace_id for r in delivered(pipeline)]

    def test_trace_context_ends_with_the_request(self, client: TestClient) -> None:
        """The request's remote span is detached when the request ends."""
        client.get("/items/1", headers={"traceparent": TRACEPARENT})

        assert not trace.get_current_span().get_span_context().is_valid

    def test_sdk_span_in_the_endpoint_wins_and_continues_the_trace(
        self, client: TestClient, pipeline: Any
    ) -> None:
        """A real SDK span started in the endpoint is on its records, child of traceparent."""
        body = client.get("/traced", headers={"traceparent": TRACEPARENT}).json()

        (inside,) = by_scope(delivered(pipeline), "app")
        assert TRACE_ID == body["trace_id"]
        assert PARENT_ID == body["parent"]
        assert int(body["trace_id"], 16) == inside.trace_id
        assert int(body["span_id"], 16) == inside.span_id

    def test_current_span_from_instrumentation_takes_precedence(self, pipeline: Any) -> None:
        """A span already current (as OTel's ASGI middleware makes one) is used, not traceparent."""
        container, _ = pipeline
        app = make_app(container)
        instrument(app, container=container)
        tracer = TracerProvider().get_tracer("asgi-instrumentation")
        spans: list[Any] = []

        async def traced_app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            with tracer.start_as_current_span("GET") as span:
                spans.append(span)
                await app(scope, receive, send)

        TestClient(traced_app).get("/items/1", headers={"traceparent": TRACEPARENT})

        ctx = spans[0].get_span_context()
        records = delivered(pipeline)
        assert 2 == len(records)
        for record in records:
            assert ctx.trace_id == record.trace_id
            assert ctx.span_id == record.span_id

    def test_real_opentelemetry_asgi_instrumentation(self, pipeline: Any) -> None:
        """With opentelemetry-instrumentation-asgi's own middleware outside the app, every
        record of the request is in the server span it makes, which continues the
        incoming traceparent."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
        from opentelemetry.trace import SpanKind

        container, _ = pipeline
        app = make_app(container)
        instrument(app, container=container)
        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        traced = OpenTelemetryMiddleware(app, tracer_provider=provider)

        answer = TestClient(traced).get("/items/3", headers={"traceparent": TRACEPARENT})

        assert 200 == answer.status_code
        (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
        assert int(TRACE_ID, 16) == server.context.trace_id
        assert server.parent is not None and int(PARENT_ID, 16) == server.parent.span_id
        records = delivered(pipeline)
        assert 2 == len(records)
        assert all(r.trace_id == server.context.trace_id for r in records)
        (inside,) = by_scope(records, "app")
        assert server.context.span_id == inside.span_id


class TestAccessLog:
    def test_success_is_info_with_every_attribute(self, client: TestClient, pipeline: Any) -> None:
        """A 200 gives one INFO access record with status, duration and the context."""
        client.get("/items/7", headers={"X-Request-ID": "r-7"})

        record = access(pipeline)
        assert ("INFO", "GET /items/{item_id} 200") == (record.severity_text, record.body)
        duration = record.attributes.pop("http.server.request.duration")
        assert isinstance(duration, float) and 0 < duration < 10
        assert {
            "http.request.id": "r-7",
            "http.request.method": "GET",
            "http.route": "/items/{item_id}",
            "url.path": "/items/7",
            "client.address": "testclient",
            "http.response.status_code": 200,
        } == record.attributes

    def test_not_found_is_warning_without_route(self, client: TestClient, pipeline: Any) -> None:
        """A 404 (no route matched) is WARNING and has no http.route."""
        client.get("/nowhere")

        record = access(pipeline)
        assert "WARNING" == record.severity_text
        assert 404 == record.attributes["http.response.status_code"]
        assert "http.route" not in record.attributes
        assert "GET /nowhere 404" == record.body

    def test_method_not_allowed_names_the_route(self, client: TestClient, pipeline: Any) -> None:
        """A 405 names the route whose method did not match."""
        client.post("/items/1")

        record = access(pipeline)
        assert ("WARNING", 405) == (
            record.severity_text,
            record.attributes["http.response.status_code"],
        )
        assert "/items/{item_id}" == record.attributes["http.route"]

    def test_http_exception_4xx_is_warning(self, client: TestClient, pipeline: Any) -> None:
        """An HTTPException with a 4xx status is WARNING."""
        client.get("/teapot")

        record = access(pipeline)
        assert ("WARNING", 418) == (
            record.severity_text,
            record.attributes["http.response.status_code"],
        )

    def test_5xx_answer_is_error(self, client: TestClient, pipeline: Any) -> None:
        """A 5xx answer is ERROR, without exception attributes."""
        client.get("/unavailable")

        record = access(pipeline)
        assert ("ERROR", 503) == (
            record.severity_text,
            record.attributes["http.response.status_code"],
        )
        assert "exception.type" not in record.attributes

    def test_unhandled_exception_is_error_with_exception(
        self, client: TestClient, pipeline: Any
    ) -> None:
        """An exception escaping the endpoint: 500, ERROR with exception.*, request id echoed."""
        response = client.get("/boom", headers={"X-Request-ID": "r-boom"})

        assert 500 == response.status_code
        assert "r-boom" == response.headers["x-request-id"]
        records = delivered(pipeline)
        (app_record,) = by_scope(records, "app")
        (record,) = by_scope(records, ACCESS)
        assert "r-boom" == app_record.attributes["http.request.id"]
        assert "ERROR" == record.severity_text
        assert 500 == record.attributes["http.response.status_code"]
        assert "RuntimeError" == record.attributes["exception.type"]
        assert "kaboom" == record.attributes["exception.message"]
        assert "Traceback" in record.attributes["exception.stacktrace"]

    def test_exception_still_reaches_the_caller(self, app: FastAPI, pipeline: Any) -> None:
        """The middleware logs the exception but does not swallow it."""
        with pytest.raises(RuntimeError, match="kaboom"):
            TestClient(app).get("/boom")

        assert "ERROR" == access(pipeline).severity_text

    def test_excluded_paths_have_no_access_record(self, client: TestClient, pipeline: Any) -> None:
        """A request to an excluded path gets an id but no access record."""
        response = client.get("/healthz")
        client.get("/items/1")

        assert 200 == response.status_code
        assert "x-request-id" in response.headers
        assert ["/items/1"] == [
            r.attributes["url.path"] for r in by_scope(delivered(pipeline), ACCESS)
        ]

    def test_streaming_response_streams_and_is_logged_at_the_end(
        self, client: TestClient, pipeline: Any
    ) -> None:
        """Chunks logged while streaming carry the context; the access record comes last."""
        with client.stream("GET", "/stream") as response:
            chunks = list(response.iter_bytes())
            request_id = response.headers["x-request-id"]

        assert b"part0;part1;part2;" == b"".join(chunks)
        records = delivered(pipeline)
        assert ["app", "app", "app", ACCESS] == [r.scope.name for r in records]
        assert {request_id} == {r.attributes["http.request.id"] for r in records}
        assert 200 == records[-1].attributes["http.response.status_code"]

    def test_streaming_is_not_buffered(self, pipeline: Any) -> None:
        """The first chunk reaches the server before the body's generator finishes."""
        container, _ = pipeline
        app = FastAPI()
        sent: list[str] = []

        @app.get("/stream")
        async def stream() -> StreamingResponse:
            async def chunks() -> AsyncIterator[bytes]:
                for i in range(3):
                    sent.append(f"made {i}")
                    yield b"x"

            return StreamingResponse(chunks())

        instrument(app, container=container)

        async def run() -> None:
            messages: list[Any] = []
            received = iter([{"type": "http.request", "body": b"", "more_body": False}])

            async def receive() -> Any:
                try:
                    return next(received)
                except StopIteration:
                    await asyncio.sleep(10)

            async def send(message: Any) -> None:
                if message["type"] == "http.response.body" and message.get("body"):
                    sent.append("sent")
                messages.append(message)

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/stream",
                "raw_path": b"/stream",
                "root_path": "",
                "query_string": b"",
                "headers": [],
                "client": ("10.0.0.1", 1234),
                "server": ("test", 80),
            }
            await app(scope, receive, send)

        asyncio.run(run())

        assert ["made 0", "sent", "made 1", "sent", "made 2", "sent"] == sent
        record = access(pipeline)
        assert "10.0.0.1" == record.attributes["client.address"]

    def test_default_container_and_logger_name(self, make_container: Any) -> None:
        """Without a container the default one is used; logger_name names the scope."""
        from fapilog_otel import _default

        container, memory = make_container(redactors=[])
        previous = _default.set_default_container(container)
        try:
            app = FastAPI()

            @app.get("/")
            def root() -> dict[str, str]:
                return {}

            instrument(app, logger_name="web")
            TestClient(app).get("/")
            assert container.flush()
        finally:
            _default.set_default_container(previous)
        assert ["web"] == [r.scope.name for r in memory.records]


class TestLifespan:
    def test_shutdown_drains_the_container(self, app: FastAPI, pipeline: Any) -> None:
        """Leaving the TestClient block runs lifespan shutdown, which drains the container."""
        container, memory = pipeline
        with TestClient(app) as client:
            client.get("/items/1")

        assert 2 == len(memory.records)
        container.get_logger("app").info("too late")
        assert {"shutdown": 1} == container.stats()["dropped"]

    def test_app_lifespan_still_runs(self, pipeline: Any) -> None:
        """The application's own lifespan handlers run inside the drain wrapper."""
        container, _ = pipeline
        events: list[str] = []

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            events.append("startup")
            yield
            events.append("shutdown")

        app = FastAPI(lifespan=lifespan)
        instrument(app, container=container)
        with TestClient(app):
            pass

        assert ["startup", "shutdown"] == events
        container.get_logger("app").info("too late")
        assert {"shutdown": 1} == container.stats()["dropped"]


class TestRobustness:
    def test_own_failure_is_counted_and_the_request_proceeds(self, pipeline: Any) -> None:
        """A failure inside the middleware is counted; the application still answers."""
        container, _ = pipeline
        inner = FastAPI()

        @inner.get("/")
        def root() -> dict[str, str]:
            return {"ok": "yes"}

        class BrokenRouter:
            @property
            def routes(self) -> list[Any]:
                raise RuntimeError("broken")

        middleware = RequestLogging(inner, container=container, router=BrokenRouter())
        response = TestClient(middleware).get("/")

        assert {"ok": "yes"} == response.json()
        assert 1 == middleware.errors
        assert isinstance(middleware.last_error, RuntimeError)

    def test_instrument_twice_is_refused(self, app: FastAPI) -> None:
        """Instrumenting an application a second time raises at once."""
        with pytest.raises(ValueError, match="already instrumented"):
            instrument(app)

    def test_instrument_needs_a_starlette_app(self) -> None:
        """Anything else than a Starlette or FastAPI application is refused."""

        async def bare(scope: Any, receive: Any, send: Any) -> None:
            """A bare ASGI callable."""

        with pytest.raises(TypeError, match="FastAPI or Starlette"):
            instrument(bare)

    def test_instrumenting_a_started_app_rebuilds_its_stack(self, pipeline: Any) -> None:
        """An application that already served requests gets the middleware on the next one."""
        container, _ = pipeline
        app = make_app(container)
        client = TestClient(app)
        client.get("/items/1")
        instrument(app, container=container)
        client.get("/items/2")

        assert ["/items/2"] == [
            r.attributes["url.path"] for r in by_scope(delivered(pipeline), ACCESS)
        ]

    def test_importing_the_package_does_not_import_fastapi(self) -> None:
        """fastapi and starlette are imported only when instrument() is called."""
        code = (
            "import sys, fapilog_otel, fapilog_otel.integrations.fastapi\n"
            "assert 'fastapi' not in sys.modules and 'starlette' not in sys.modules\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
