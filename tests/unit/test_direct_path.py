"""The direct path (``fapilog_otel._direct``): queued tuples encoded with the redaction fused
in must give the bytes the ordinary path gives (convert, redact, limit, encode), for every
tuple a log call can queue, with the compiled encoder and in pure Python."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk.resources import Resource

import fapilog_otel as fo
from fapilog_otel import _direct as direct_module
from fapilog_otel._chain import Chain, ChainLink
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._direct import (
    DIRECT_PATH_VARIABLE,
    DirectBatch,
    DirectPlan,
    plan_direct,
)
from fapilog_otel._raw import RawRecord, to_record
from fapilog_otel._stages import Stages
from fapilog_otel._stats import ProcessorStats
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.otlp._compiled import PURE_PYTHON_VARIABLE
from fapilog_otel.otlp._encoded import EncodedRequests
from fapilog_otel.otlp._exporter import OTLPExporter
from fapilog_otel.otlp._protobuf import ProtobufEncoder
from fapilog_otel.processors.redact import (
    KeyRedactor,
    KeyRedactorConfig,
    ValueRedactor,
    ValueRedactorConfig,
)
from fapilog_otel.record import Scope
from fapilog_otel.typing import ExportResult

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,
)

RESOURCE = Resource({"service.name": "checkout"})
OTHER_RESOURCE = Resource({"service.name": "other"})
T0 = 1_700_000_000_123_456_789
CARD = "4111 1111 1111 1111"
CARD_INT = 4111111111111111
BEARER = "Authorization: Bearer abcdefghijklmnop.qrstuvwxyz0123456789"


class Text(str):
    """A ``str`` subclass: the direct path must leave it to the ordinary one."""


def exporter() -> OTLPExporter:
    """An exporter that accepts direct batches (it never sends in these tests)."""
    return OTLPExporter("http://127.0.0.1:9/v1/logs", diagnostics=False)


def make_redactors(kind: str) -> list[Any]:
    keys = KeyRedactor(KeyRedactorConfig(keys=["user.ssn", "account"]))
    values = ValueRedactor(ValueRedactorConfig(patterns=[r"internal-\d+"]))
    return {
        "default": [keys, values],
        "values-first": [values, keys],
        "keys": [keys],
        "values": [values],
        "none": [],
        "defaults-only": [KeyRedactor(), ValueRedactor()],
    }[kind]


def pipeline(redactors: list[Any], count_limit: int | None = 128) -> tuple[Stages, DirectPlan]:
    """The worker's stages and its direct plan for ``redactors``."""
    diagnostics = Diagnostics(enabled=False)
    links = [ChainLink(f"r{i}", r, ProcessorStats()) for i, r in enumerate(redactors)]
    chain = Chain(links, diagnostics, async_timeout=1.0)
    stages = Stages(
        resource=RESOURCE,
        chain=chain,
        count_limit=count_limit,
        length_limit=None,
        diagnostics=diagnostics,
    )
    plan = plan_direct(
        chain=chain,
        exporters=[exporter()],
        resource=RESOURCE,
        count_limit=count_limit,
        length_limit=None,
        stages=stages,
        diagnostics=diagnostics,
    )
    assert plan is not None
    return stages, plan


@pytest.fixture(params=["compiled", "python"], scope="module")
def make_encoder(request: pytest.FixtureRequest) -> Iterator[Callable[[], ProtobufEncoder]]:
    """Encoders built with the compiled encoder (when built) or in pure Python."""

    def make() -> ProtobufEncoder:
        with pytest.MonkeyPatch.context() as patch:
            if request.param == "python":
                patch.setenv(PURE_PYTHON_VARIABLE, "1")
            else:
                patch.delenv(PURE_PYTHON_VARIABLE, raising=False)
            return ProtobufEncoder()

    yield make


# -- what a log call can queue -------------------------------------------------------------

KEYS = st.sampled_from(
    ["user", "password", "api_key", "X-Api-Key", "msg", "", "account", "user.ssn", "n", "é"]
) | st.text(max_size=6)
SCALARS = st.one_of(
    st.text(max_size=12),
    st.sampled_from([CARD, BEARER, "internal-42", "[REDACTED]", "\ud800 lone", "ok", ""]),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.sampled_from([CARD_INT, 0, -1, 1 << 63, 1 << 31, True, False]),
    st.floats(allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.0, float("inf")]),
    st.none(),
)
VALUES = st.one_of(
    SCALARS,
    st.text(max_size=4).map(Text),
    st.dictionaries(KEYS, SCALARS, max_size=3),
    st.lists(SCALARS, max_size=3),
    st.binary(max_size=6),
)
ATTRIBUTES = st.dictionaries(KEYS, VALUES, max_size=5)
#: (spec) -> a fresh tuple each time: the ordinary path changes attribute dicts in place.
SPECS = st.fixed_dictionaries(
    {
        "time": st.sampled_from([T0, 0, T0 + 7]),
        "observed": st.sampled_from([None, T0 + 1, 0]),
        "severity": st.sampled_from([(9, "INFO"), (17, "ERROR"), (0, None), (5, "DEBUG")]),
        "body": st.one_of(st.none(), st.text(max_size=10), st.sampled_from([CARD, BEARER])),
        "structured_body": st.booleans(),
        "attrs": st.one_of(st.none(), ATTRIBUTES),
        "scope": st.sampled_from(["app", "db", "lib"]),
        "bound": st.one_of(st.none(), st.dictionaries(KEYS, SCALARS, max_size=3)),
        "context": st.one_of(st.none(), st.dictionaries(KEYS, SCALARS, max_size=2)),
        "span": st.sampled_from([None, (0x0AF7651916CD43DD8448EB211C80319C, 0xF067AA0BA902B7, 1)]),
        "event": st.sampled_from([None, "login", ""]),
        "exc": st.booleans(),
        "resource": st.integers(min_value=0, max_value=9),
    }
)


def build(spec: dict[str, Any]) -> RawRecord:
    """The tuple a log call queues, made fresh from ``spec``."""
    number, text = spec["severity"]
    body = spec["body"]
    if spec["structured_body"] and body is not None:
        body = {"text": body, "password": "hunter2"}
    scope: str | Scope = spec["scope"]
    if scope == "lib":
        scope = Scope("lib", "1.2")
    exc = None
    if spec["exc"]:
        try:
            raise ValueError(f"failed for {CARD}")
        except ValueError as caught:
            exc = caught

    def copy(value: Any) -> Any:
        return {k: copy(v) for k, v in value.items()} if isinstance(value, dict) else value

    attrs = spec["attrs"]
    return (
        spec["time"],
        spec["observed"],
        number,
        text,
        body,
        copy(attrs) if attrs else None,
        scope,
        copy(spec["bound"]) or None,
        copy(spec["context"]) or None,
        spec["span"],
        spec["event"],
        exc,
        OTHER_RESOURCE if spec["resource"] == 0 else None,
    )


def ordinary(stages: Stages, encoder: ProtobufEncoder, raws: list[RawRecord]) -> EncodedRequests:
    records, _ = stages.run(raws, {})
    return encoder.encode(records)


def direct(plan: DirectPlan, encoder: ProtobufEncoder, raws: list[RawRecord]) -> EncodedRequests:
    return encoder.encode_direct(DirectBatch(raws, plan))


def records_by_group(encoded: EncodedRequests) -> dict[tuple[bytes, bytes], list[Any]]:
    """The decoded records of every request, by resource and scope, in order."""
    groups: dict[tuple[bytes, bytes], list[Any]] = {}
    for body, _ in encoded.requests:
        request = ExportLogsServiceRequest.FromString(body)
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                key = (
                    resource_logs.resource.SerializeToString(deterministic=True),
                    scope_logs.scope.SerializeToString(deterministic=True),
                )
                groups.setdefault(key, []).extend(scope_logs.log_records)
    return groups


# -- the tests -----------------------------------------------------------------------------


class TestSameBytes:
    """The direct path writes what the ordinary path writes."""

    @pytest.mark.parametrize(
        "kind", ["default", "values-first", "keys", "values", "none", "defaults-only"]
    )
    @SETTINGS
    @given(specs=st.lists(SPECS, min_size=1, max_size=12))
    def test_any_batch(
        self, kind: str, specs: list[dict[str, Any]], make_encoder: Callable[[], ProtobufEncoder]
    ) -> None:
        stages, plan = pipeline(make_redactors(kind), count_limit=4)
        want = ordinary(stages, make_encoder(), [build(spec) for spec in specs])
        got = direct(plan, make_encoder(), [build(spec) for spec in specs])
        assert (want.oversize, want.invalid) == (got.oversize, got.invalid)
        if all(spec["resource"] for spec in specs):
            assert want.requests == got.requests
        else:
            # Records with a resource of their own come last on the direct path.
            assert records_by_group(want) == records_by_group(got)

    @SETTINGS
    @given(specs=st.lists(SPECS, min_size=1, max_size=6), repeats=st.integers(2, 3))
    def test_repeated_batches_use_the_caches(
        self,
        specs: list[dict[str, Any]],
        repeats: int,
        make_encoder: Callable[[], ProtobufEncoder],
    ) -> None:
        """The same encoders over several batches: cached entries give the same bytes."""
        stages, plan = pipeline(make_redactors("default"))
        want_encoder, got_encoder = make_encoder(), make_encoder()
        for _ in range(repeats):
            want = ordinary(stages, want_encoder, [build(spec) for spec in specs])
            got = direct(plan, got_encoder, [build(spec) for spec in specs])
            assert records_by_group(want) == records_by_group(got)


class TestRoutes:
    """Which tuples the direct encoders take themselves, and what the others get."""

    def test_common_tuples_never_become_records(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A tuple of the common shape is encoded without being converted to a record (the
        ordinary path's ``to_record``); one with an exception is converted."""
        _, plan = pipeline(make_redactors("default"))
        made: list[RawRecord] = []

        def counting(raw: RawRecord, *args: Any) -> Any:
            made.append(raw)
            return to_record(raw, *args)

        monkeypatch.setattr(direct_module, "to_record", counting)
        common = build({**BASE_SPEC, "attrs": {"user": "ann", "password": "x", "n": 3, "ok": True}})
        failing = build({**BASE_SPEC, "exc": True})
        encoded = ProtobufEncoder().encode_direct(DirectBatch([common, failing], plan))
        assert [failing] == made
        assert 2 == encoded.records

    def test_compiled_encoder_writes_common_tuples_itself(self) -> None:
        """The compiled encoder writes common tuples itself, asking the redaction for the
        decisions it has not cached (new keys, new texts, card-number checks included),
        with the bytes of the Python encoder; other tuples go to the Python encoder."""
        cencode = pytest.importorskip(
            "fapilog_otel.otlp._cencode",
            reason="the _cencode extension was not built",
            exc_type=ModuleNotFoundError,
        )
        from fapilog_otel.otlp._compiled import view

        _, plan = pipeline(make_redactors("default"))
        _, python_plan = pipeline(make_redactors("default"))
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(PURE_PYTHON_VARIABLE, "1")
            python = ProtobufEncoder()._codec.direct(python_plan)
        called: list[RawRecord] = []

        def fallback(raw: RawRecord) -> bytes | None:
            called.append(raw)
            return python(raw)

        spec = {
            **BASE_SPEC,
            "attrs": {
                "user": "ann",
                "password": "hunter2",
                "card": CARD,
                "pan": CARD_INT,
                "stamp": 1_700_000_000_123_456_789,
                "n": 3,
                "x": 0.5,
            },
            "bound": {"request_id": "r-1"},
            "context": {"tenant": "acme", "flag": None},
            "body": f"paid with {CARD}",
        }
        for attrs in (spec["attrs"], {"new_key": "v" * 2000}, {"other": 4111111111111111}):
            raw = build({**spec, "attrs": attrs})
            encoded = cencode.encode_raw(fallback, view(plan), raw)
            assert python(build({**spec, "attrs": attrs})) == encoded
        assert [] == called
        assert "new_key" in plan.redaction.key_masks  # type: ignore[union-attr]
        text = encoded.decode("utf-8", "replace")
        assert "4111" not in text
        for shape in ({"exc": True}, {"attrs": {"list": [1, 2]}}, {"structured_body": True}):
            cencode.encode_raw(fallback, view(plan), build({**spec, **shape}))
        assert 3 == len(called)

    def test_failing_redactor_masks_the_record_it_had_to_clean(self) -> None:
        """On the direct path a redactor that raises over a tuple made a record masks that
        record and counts it, as the chain does."""
        keys, values = make_redactors("default")
        stages, plan = pipeline([keys, values])

        def broken(records: list[Any]) -> list[Any]:
            raise RuntimeError("boom")

        keys.process_batch = broken
        raw = build({**BASE_SPEC, "exc": True, "attrs": {"user": "ann"}})
        encoded = ProtobufEncoder().encode_direct(DirectBatch([raw], plan))
        [(body, count)] = encoded.requests
        assert 1 == count
        record = ExportLogsServiceRequest.FromString(body).resource_logs[0].scope_logs[0]
        values_seen = {kv.value.string_value for kv in record.log_records[0].attributes}
        assert {"[REDACTION FAILED]"} == values_seen
        link = stages.chain.links[0]
        assert (1, 1) == (link.stats.errors, link.stats.masked)


BASE_SPEC: dict[str, Any] = {
    "time": T0,
    "observed": None,
    "severity": (9, "INFO"),
    "body": "hello",
    "structured_body": False,
    "attrs": None,
    "scope": "app",
    "bound": None,
    "context": None,
    "span": None,
    "event": None,
    "exc": False,
    "resource": 1,
}


class TestWhenTaken:
    """The direct path is taken only where it gives what the ordinary path gives."""

    ENDPOINT = "http://127.0.0.1:9/v1/logs"

    def plan_of(self, settings: fo.Settings | None = None, **kwargs: Any) -> DirectPlan | None:
        settings = settings or fo.Settings(exporters=["otlp"], otlp={"endpoint": self.ENDPOINT})
        container = fo.Container(settings, **kwargs)
        try:
            plan: DirectPlan | None = container._worker._direct
            return plan
        finally:
            container.shutdown(1)

    def test_defaults_with_otlp_protobuf(self) -> None:
        plan = self.plan_of()
        assert plan is not None and plan.redaction is not None

    def test_grpc_too(self) -> None:
        settings = fo.Settings(
            exporters=["otlp"], otlp={"endpoint": "http://127.0.0.1:9", "protocol": "grpc"}
        )
        assert self.plan_of(settings) is not None

    def test_no_redactors(self) -> None:
        settings = fo.Settings(
            exporters=["otlp"], otlp={"endpoint": self.ENDPOINT}, redactors=["none"]
        )
        plan = self.plan_of(settings)
        assert plan is not None and plan.redaction is None

    def test_not_with_http_json(self) -> None:
        settings = fo.Settings(
            exporters=["otlp"], otlp={"endpoint": self.ENDPOINT, "protocol": "http/json"}
        )
        assert self.plan_of(settings) is None

    def test_not_with_another_exporter(self) -> None:
        exporters = [OTLPExporter(self.ENDPOINT, diagnostics=False), InMemoryExporter()]
        assert self.plan_of(exporters=exporters) is None

    def test_not_with_another_processor(self) -> None:
        settings = fo.Settings(
            exporters=["otlp"], otlp={"endpoint": self.ENDPOINT}, processors=["sample"]
        )
        assert self.plan_of(settings) is None

    def test_not_with_a_value_length_limit(self) -> None:
        settings = fo.Settings(
            exporters=["otlp"],
            otlp={"endpoint": self.ENDPOINT},
            limits={"attribute_value_length": 10},
        )
        assert self.plan_of(settings) is None

    def test_not_when_turned_off(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(DIRECT_PATH_VARIABLE, "0")
        assert self.plan_of() is None

    def test_open_circuit_takes_the_ordinary_path(self) -> None:
        """While a redactor's circuit is open, batches go the ordinary way, which masks
        every record that redactor should have cleaned; closed again, the direct way."""
        exporter = Capturing(self.ENDPOINT, diagnostics=False)
        container = fo.Container(fo.Settings(), exporters=[exporter])
        try:
            log = container.get_logger("app")
            log.info("direct", user="ann")
            assert container.flush(5)
            link = container._worker._chain.links[0]
            link.breaker._open(60.0)
            log.info("ordinary", user="ann")
            assert container.flush(5)
        finally:
            container.shutdown(1)
        first, second = exporter.batches
        assert DirectBatch is type(first)
        assert list is type(second)
        assert {"user": "[REDACTION FAILED]"} == second[0].attributes


class Capturing(OTLPExporter):
    """An OTLP exporter (so the direct path may be taken) that keeps what it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[Any] = []

    def export(self, batch: Any) -> Any:
        self.batches.append(batch)
        return ExportResult.SUCCESS


def with_check_digit(stem: int) -> int:
    """``stem`` followed by the digit that makes it pass the Luhn check."""
    for digit in range(10):
        number = stem * 10 + digit
        total = 0
        for index, char in enumerate(reversed(str(number))):
            value = int(char) * (2 if index & 1 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return number
    raise AssertionError("unreachable")


class TestCardNumbers:
    """The compiled encoder's card-number check of integers agrees with the redactor's."""

    @SETTINGS
    @given(
        stem=st.integers(min_value=10**10, max_value=10**18 // 10),
        luhn=st.booleans(),
        sign=st.sampled_from([1, -1]),
    )
    def test_integers_around_card_numbers(
        self, stem: int, luhn: bool, sign: int, make_encoder: Callable[[], ProtobufEncoder]
    ) -> None:
        number = sign * (with_check_digit(stem) if luhn else stem * 10 + 1)
        edges = [number, 10**12 - 1, 10**12, 4111111111111111, (1 << 63) - 1, 1 << 63]
        stages, plan = pipeline(make_redactors("defaults-only"))
        specs = [{**BASE_SPEC, "attrs": {"n": value}} for value in edges]
        want = ordinary(stages, make_encoder(), [build(spec) for spec in specs])
        got = direct(plan, make_encoder(), [build(spec) for spec in specs])
        assert want.requests == got.requests
