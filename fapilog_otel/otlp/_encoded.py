"""What both OTLP encoders share: the result type, the greedy splitter and record repair.

An encoder turns each record into bytes, and each resource and scope into a head (the
bytes before its children) and a tail (the bytes after them). The splitter then packs
those pieces, in order, into as few request bodies as fit under the size limit; only the
framing differs between protobuf (a tag and a length before each child) and JSON (a comma
between children), and the encoder passes it in as a ``frame`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol

from opentelemetry.sdk.resources import Resource

from fapilog_otel._direct import DirectBatch, DirectPlan
from fapilog_otel._freeze import describe
from fapilog_otel._raw import SCOPE, RawRecord
from fapilog_otel.otlp._grouping import group_records
from fapilog_otel.record import LogRecord, Scope

__all__ = [
    "CACHED_TEXT_LIMIT",
    "CACHE_LIMIT",
    "DEFAULT_MAX_BYTES",
    "DEPTH_MARKER",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "Budget",
    "Codec",
    "DirectCodec",
    "EncodedRequests",
    "EncodedResource",
    "EncodedScope",
    "Encoder",
    "TooLarge",
    "describe",
    "encode_batch",
    "encode_direct",
    "key_text",
    "repaired",
    "split",
]

#: Entries each encoder cache holds before it is emptied.
CACHE_LIMIT: Final = 16384
#: Strings longer than this are encoded each time rather than cached.
CACHED_TEXT_LIMIT: Final = 1024
#: The range of an OTLP ``int_value``; Python ints outside it are sent as strings.
INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1

#: The OTLP specification: clients SHOULD limit requests to 64 MiB and MUST NOT send more.
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024

#: Containers nested deeper than this become :data:`DEPTH_MARKER`. Lower than the SDK
#: adapter's 64: protobuf decoders (upb, C++, Java) refuse messages nested more than 100
#: deep, and each level of a nested map is three messages (AnyValue, KeyValueList, KeyValue).
MAX_DEPTH: Final = 30
DEPTH_MARKER: Final = "<max depth>"

_UINT32: Final = 1 << 32
_UINT64: Final = 1 << 64
_TRACE_ID_LIMIT: Final = 1 << 128

#: A scope's encoded head and tail around its records' encodings.
EncodedScope = tuple[bytes, bytes, list[bytes]]
#: A resource's encoded head and tail around its scopes.
EncodedResource = tuple[bytes, bytes, list[EncodedScope]]

#: The size of a child of ``n`` bytes inside its parent; the flag is true for the first.
Frame = Callable[[int, bool], int]


class TooLarge(Exception):
    """A value has more parts than a request of the size limit can hold."""


class Budget:
    """How many more parts (container items) the value being encoded may have.

    Every part takes at least two bytes in either format, so a value of more than
    ``max_bytes // 2`` parts cannot fit a request; stopping there also bounds the work a
    structure that shares one list many times over (``[x, x]`` nested 60 deep) can cause.
    """

    __slots__ = ("left", "limit")

    def __init__(self) -> None:
        self.limit = self.left = DEFAULT_MAX_BYTES // 2

    def set_max_bytes(self, max_bytes: int) -> None:
        """Allow each value up to ``max_bytes // 2`` parts from now on."""
        self.limit = self.left = max(max_bytes // 2, 0)

    def reset(self) -> None:
        """Start counting a new top-level value."""
        self.left = self.limit

    def spend(self, parts: int) -> None:
        """Count ``parts`` more parts; raise :class:`TooLarge` when over the limit."""
        self.left -= parts
        if self.left < 0:
            raise TooLarge


class Codec(Protocol):
    """One wire format: how records, resources and scopes encode, and how children frame.

    A codec keeps caches and is used from one thread at a time.
    """

    #: The size of a request without resources.
    empty_size: ClassVar[int]
    #: Returns one record's encoding; raises for a record that needs :func:`repaired`, and
    #: :class:`TooLarge` for one that cannot fit a request.
    record: Callable[[LogRecord], bytes]

    def begin(self, max_bytes: int) -> None:
        """Prepare to encode a batch whose requests may hold up to ``max_bytes``."""

    def resource(self, resource: Resource) -> tuple[bytes, bytes]:
        """Return the head and tail of a resource's entry."""

    def scope(self, scope: Scope) -> tuple[bytes, bytes]:
        """Return the head and tail of a scope's entry."""

    def frame_size(self, size: int, first: bool) -> int:
        """Return the size a child of ``size`` bytes takes in its parent."""

    def join(self, resources: list[EncodedResource]) -> bytes:
        """Return the request body holding ``resources``."""


class DirectCodec(Codec, Protocol):
    """A codec that also encodes queued tuples (see ``fapilog_otel._direct``)."""

    def direct(self, plan: DirectPlan) -> Callable[[RawRecord], bytes | None]:
        """Return the plan's encoder of one tuple: its bytes, or None to make a record."""


class EncodedRequests:
    """Request bodies ready to send, and the records that could not be encoded.

    Attributes:
        requests: Each body with the number of records in it, in record order (records
            grouped by resource, then scope, as the request carries them).
        oversize: Records left out because one alone, with its resource and scope,
            exceeds the size limit.
        invalid: Records left out because encoding them failed even after repair.
    """

    __slots__ = ("invalid", "oversize", "requests")

    def __init__(
        self, requests: list[tuple[bytes, int]], oversize: int = 0, invalid: int = 0
    ) -> None:
        self.requests = requests
        self.oversize = oversize
        self.invalid = invalid

    @property
    def records(self) -> int:
        """The number of records in all requests."""
        return sum(count for _, count in self.requests)

    def __repr__(self) -> str:
        sizes = [(len(body), count) for body, count in self.requests]
        return f"EncodedRequests(sizes={sizes!r}, oversize={self.oversize}, invalid={self.invalid})"


def key_text(key: object) -> str:
    """The text a key, name or label is written as: a ``str`` subclass as its base value
    (as for values: the caches hold plain strings, so an equal subclass must encode the
    same whether or not its plain twin was seen first), anything else as ``describe``."""
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    return describe(key)


def _uint(value: object, limit: int) -> int:
    if isinstance(value, int) and 0 <= value < limit:
        return int(value)
    return 0


def _text(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    return describe(value)


def _attributes(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    try:
        return dict(value.items())
    except Exception:
        return {}


def repaired(record: LogRecord) -> LogRecord:
    """Return a copy of ``record`` with every field an encoder can take without failing.

    For records the fast path of an encoder rejected: times and ids out of range become 0
    (unknown), the severity number is clamped to 0-24, texts that are not strings are
    described, and attributes that are not a readable mapping become empty.
    """
    new = LogRecord.__new__(LogRecord)
    new.timestamp = _uint(getattr(record, "timestamp", 0), _UINT64)
    new.observed_timestamp = _uint(getattr(record, "observed_timestamp", 0), _UINT64)
    severity = getattr(record, "severity_number", 0)
    new.severity_number = min(max(int(severity), 0), 24) if isinstance(severity, int) else 0
    new.severity_text = _text(getattr(record, "severity_text", None))
    new.body = getattr(record, "body", None)
    new.attributes = _attributes(getattr(record, "attributes", None))
    new.scope = record.scope
    new.resource = record.resource
    new.trace_id = _uint(getattr(record, "trace_id", 0), _TRACE_ID_LIMIT)
    new.span_id = _uint(getattr(record, "span_id", 0), _UINT64)
    flags = getattr(record, "trace_flags", 0)
    new.trace_flags = int(flags) & 0xFF if isinstance(flags, int) else 0
    new.event_name = _text(getattr(record, "event_name", None))
    new.dropped_attributes_count = _uint(getattr(record, "dropped_attributes_count", 0), _UINT32)
    return new


class _Request:
    """One request being filled: its resources, size and record count."""

    __slots__ = ("count", "resources", "size")

    def __init__(self, base: int) -> None:
        self.resources: list[EncodedResource] = []
        self.size = base
        self.count = 0


def split(
    resources: list[EncodedResource], max_bytes: int, frame: Frame, base: int
) -> tuple[list[tuple[list[EncodedResource], int]], int]:
    """Pack records greedily, in order, into requests of at most ``max_bytes``.

    Args:
        resources: The encoded resources, scopes and records of one batch.
        max_bytes: The largest request body allowed.
        frame: The size of a child of ``n`` bytes in its parent (framing included).
        base: The size of an empty request.

    Returns:
        The requests (each its resources and record count) and the number of records
        left out because one alone does not fit.
    """
    done: list[tuple[list[EncodedResource], int]] = []
    oversize = 0
    request = _Request(base)
    for res_head, res_tail, scopes in resources:
        res_base = len(res_head) + len(res_tail)
        # Sizes of the resource and scope open in ``request``; -1 when not open there.
        res_size = -1
        res_first = True
        for scope_head, scope_tail, records in scopes:
            scope_base = len(scope_head) + len(scope_tail)
            scope_size = -1
            scope_first = True
            for body in records:
                size = len(body)
                alone_scope = scope_base + frame(size, True)
                alone_res = res_base + frame(alone_scope, True)
                if base + frame(alone_res, True) > max_bytes:
                    oversize += 1
                    continue
                if scope_size >= 0:
                    new_scope = scope_size + frame(size, False)
                    new_res = res_size - frame(scope_size, scope_first)
                    new_res += frame(new_scope, scope_first)
                    total = request.size - frame(res_size, res_first) + frame(new_res, res_first)
                elif res_size >= 0:
                    new_scope = alone_scope
                    new_res = res_size + frame(new_scope, False)
                    total = request.size - frame(res_size, res_first) + frame(new_res, res_first)
                else:
                    new_scope, new_res = alone_scope, alone_res
                    total = request.size + frame(new_res, not request.resources)
                if total > max_bytes:
                    done.append((request.resources, request.count))
                    request = _Request(base)
                    res_size = scope_size = -1
                    new_scope, new_res = alone_scope, alone_res
                    total = base + frame(alone_res, True)
                if scope_size < 0:
                    if res_size < 0:
                        res_first = not request.resources
                        request.resources.append((res_head, res_tail, []))
                        scope_first = True
                    else:
                        scope_first = False
                    request.resources[-1][2].append((scope_head, scope_tail, []))
                request.resources[-1][2][-1][2].append(body)
                request.size, res_size, scope_size = total, new_res, new_scope
                request.count += 1
    if request.count:
        done.append((request.resources, request.count))
    return done, oversize


def _encode_each(
    encode_record: Callable[[LogRecord], bytes], records: list[LogRecord]
) -> tuple[list[bytes], tuple[int, int]]:
    """Encode records one by one, repairing those that fail; count oversize and invalid."""
    bodies: list[bytes] = []
    oversize = invalid = 0
    for record in records:
        try:
            bodies.append(encode_record(record))
        except TooLarge:
            oversize += 1
        except Exception:
            try:
                bodies.append(encode_record(repaired(record)))
            except TooLarge:
                oversize += 1
            except Exception:
                invalid += 1
    return bodies, (oversize, invalid)


def _encode_records(
    encode_record: Callable[[LogRecord], bytes], records: list[LogRecord]
) -> tuple[list[bytes], tuple[int, int]]:
    """Encode the records of one scope; count those left out as oversize and invalid."""
    try:
        return [encode_record(record) for record in records], (0, 0)
    except Exception:
        return _encode_each(encode_record, records)


def encode_batch(codec: Codec, records: Sequence[LogRecord], max_bytes: int) -> EncodedRequests:
    """Encode ``records`` with ``codec`` into requests of at most ``max_bytes`` each.

    Nothing raises: a record the codec rejects is repaired and tried once more, then
    counted as invalid; one too large for a request is counted as oversize.
    """
    codec.begin(max_bytes)
    resources, oversize, invalid = _encode_groups(codec, records)
    return _pack(codec, resources, max_bytes, oversize, invalid)


def encode_direct(codec: DirectCodec, batch: DirectBatch, max_bytes: int) -> EncodedRequests:
    """Encode a batch of queued tuples (see ``fapilog_otel._direct``) like
    :func:`encode_batch` encodes the records the ordinary path would make of them.

    The tuples the codec's direct encoder takes are grouped by scope under the plan's
    resource; each other one is made a record by ``plan.record`` and, when it has the
    plan's resource (always, unless it carries its own), encoded in its place, so records
    keep their order within a scope. Records with a resource of their own follow, grouped
    as :func:`encode_batch` groups them. Never raises.
    """
    codec.begin(max_bytes)
    plan = batch.plan
    resource = plan.resource
    scope_of = plan.scope
    make_record = plan.record
    encode_raw = codec.direct(plan)
    encode_record = codec.record
    by_slot: dict[object, list[bytes]] = {}
    by_scope: dict[Scope, list[bytes]] = {}
    own_resource: list[LogRecord] = []
    invalid = oversize = 0
    last: object = by_slot  # no scope slot is this dict: the first tuple looks its scope up
    current: list[bytes] = []
    for raw in batch:
        try:
            body = encode_raw(raw)
        except Exception:
            body = None  # out of range somewhere: the ordinary path repairs it or counts it
        if body is not None:
            slot = raw[SCOPE]
            if slot is not last:
                found = by_slot.get(slot)
                if found is None:
                    found = by_slot[slot] = by_scope.setdefault(scope_of(slot), [])
                current, last = found, slot
            current.append(body)
            continue
        try:
            record = make_record(raw)
        except Exception:
            invalid += 1
            continue
        if record.resource is not resource:
            own_resource.append(record)
            continue
        bodies, (too_large, bad) = _encode_records(encode_record, [record])
        oversize += too_large
        invalid += bad
        try:
            by_scope.setdefault(record.scope, []).extend(bodies)
        except Exception:
            invalid += len(bodies)
        last = by_slot
    resources: list[EncodedResource] = []
    scopes: list[EncodedScope] = []
    if by_scope:
        try:
            res_head, res_tail = codec.resource(resource)
        except Exception:
            invalid += sum(map(len, by_scope.values()))
        else:
            for scope, bodies in by_scope.items():
                if not bodies:
                    continue
                try:
                    scope_head, scope_tail = codec.scope(scope)
                except Exception:
                    invalid += len(bodies)
                    continue
                scopes.append((scope_head, scope_tail, bodies))
            if scopes:
                resources.append((res_head, res_tail, scopes))
    if own_resource:
        more, too_large, bad = _encode_groups(codec, own_resource)
        resources += more
        oversize += too_large
        invalid += bad
    return _pack(codec, resources, max_bytes, oversize, invalid)


def _encode_groups(
    codec: Codec, records: Sequence[LogRecord]
) -> tuple[list[EncodedResource], int, int]:
    """Encode ``records`` grouped by resource and scope; also return how many were left
    out as oversize and as invalid."""
    groups, invalid = group_records(records)
    encode_record = codec.record
    resources: list[EncodedResource] = []
    oversize = 0
    for group in groups:
        try:
            res_head, res_tail = codec.resource(group.resource)
        except Exception:
            invalid += sum(len(scope_group.records) for scope_group in group.scopes)
            continue
        scopes: list[EncodedScope] = []
        for scope_group in group.scopes:
            try:
                scope_head, scope_tail = codec.scope(scope_group.scope)
            except Exception:
                invalid += len(scope_group.records)
                continue
            bodies, (too_large, bad) = _encode_records(encode_record, scope_group.records)
            oversize += too_large
            invalid += bad
            if bodies:
                scopes.append((scope_head, scope_tail, bodies))
        if scopes:
            resources.append((res_head, res_tail, scopes))
    return resources, oversize, invalid


def _pack(
    codec: Codec, resources: list[EncodedResource], max_bytes: int, oversize: int, invalid: int
) -> EncodedRequests:
    """Join encoded resources into one request, or split them into several under
    ``max_bytes``."""
    count = size = 0
    for _, _, scopes in resources:
        for _, _, bodies in scopes:
            count += len(bodies)
            size += sum(map(len, bodies))
    if not resources:
        return EncodedRequests([], oversize, invalid)
    if size <= max_bytes:  # else the records alone are too large for one request
        body = codec.join(resources)
        if len(body) <= max_bytes:
            return EncodedRequests([(body, count)], oversize, invalid)
    chunks, too_large = split(resources, max_bytes, codec.frame_size, codec.empty_size)
    requests = [(codec.join(chunk), chunk_count) for chunk, chunk_count in chunks]
    return EncodedRequests(requests, oversize + too_large, invalid)


class Encoder:
    """Encodes records as ``ExportLogsServiceRequest`` bodies with one codec.

    Subclasses choose the codec (protobuf or JSON) and the ``Content-Type``. An encoder
    keeps bounded caches and must be used from one thread at a time (one per exporter).
    """

    __slots__ = ("_codec",)

    #: The HTTP ``Content-Type`` of the bodies.
    content_type: ClassVar[str] = ""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec

    def encode(
        self, records: Sequence[LogRecord], max_bytes: int = DEFAULT_MAX_BYTES
    ) -> EncodedRequests:
        """Encode ``records`` into request bodies of at most ``max_bytes`` each.

        Records are grouped by resource, then scope, in order of first appearance, and
        split greedily in that order. Never raises.

        Args:
            records: The batch to encode.
            max_bytes: The largest body (before compression) a request may have.

        Returns:
            The bodies with their record counts, and the counts of records left out as
            oversize (too large for a request alone) or invalid (failed to encode).
        """
        return encode_batch(self._codec, records, max_bytes)

    @property
    def accepts_direct(self) -> bool:
        """Whether :meth:`encode_direct` is available (the codec encodes queued tuples)."""
        return callable(getattr(self._codec, "direct", None))

    def encode_direct(
        self, batch: DirectBatch, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> EncodedRequests:
        """Encode a batch of queued tuples as :meth:`encode` encodes the records the
        ordinary path makes of them (see :func:`encode_direct`). Never raises."""
        codec = self._codec
        assert callable(getattr(codec, "direct", None))
        return encode_direct(codec, batch, max_bytes)  # type: ignore[arg-type]
