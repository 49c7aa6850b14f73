"""The direct path: queued tuples encoded straight to OTLP, redaction fused into the encoder.

In the default configuration the worker's stages do little that needs a
:class:`~fapilog_otel.record.LogRecord`: the only processors are the built-in redactors,
which leave a ``str``, ``int``, ``bool``, ``float`` or ``None`` value as a function of its
key and itself, and the only exporters are OTLP/protobuf exporters of ours. Then the
worker hands the taken tuples over as they are (a :class:`DirectBatch`) and each exporter's
encoder writes them itself, caching each attribute's *redacted* encoding under the
attribute as logged: an attribute seen before costs one dictionary lookup, redaction
included, and no record object is made at all.

A tuple the encoder does not take that way (an exception to describe, a value that is a
container, a resource of its own, more attributes than the count limit, ...) goes through
:meth:`DirectPlan.record`: the worker's ordinary conversion, the same redactors over the
record (a redactor that raises masks it, counted, as the chain does) and the attribute
limits. Either way the bytes are those the ordinary path would have written.

The direct path is used when (see :func:`plan_direct`): every exporter accepts direct
batches, the chain holds at most one ``redact_keys`` and at most one ``redact_values``
redactor of the built-in classes and nothing else, and no attribute value length limit is
set. A batch taken while a redactor's circuit is not closed goes the ordinary way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry.sdk.resources import Resource

from fapilog_otel._breaker import CLOSED
from fapilog_otel._cache import remember
from fapilog_otel._chain import Chain, ChainLink, mask
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._raw import RawRecord, to_record
from fapilog_otel.processors.redact import KeyRedactor, ValueRedactor, cache_text
from fapilog_otel.record import LogRecord, Scope

__all__ = [
    "DIRECT_PATH_VARIABLE",
    "DirectBatch",
    "DirectPlan",
    "Redaction",
    "direct_path_enabled",
    "plan_direct",
]

#: The environment variable that turns the direct path off (``0``, ``false``, ``no``, ``off``).
DIRECT_PATH_VARIABLE: Final = "FAPILOG_DIRECT_PATH"
_FALSE_VALUES: Final = frozenset({"0", "false", "no", "off"})

#: Entries each decision cache holds before it is emptied.
CACHE_LIMIT: Final = 16384
#: A minimum no string reaches: nothing to scan.
_NEVER: Final = 1 << 62


class Redaction:
    """What the redactors of a direct plan do to one scalar value, as plain functions.

    The decisions are cached in :attr:`key_masks` (key -> masked whole?) and
    :attr:`clean_texts` (text -> text with secrets masked) so that the compiled encoder can
    read them without calling back; both are filled here, on first sight.

    Args:
        keys: The ``redact_keys`` redactor, or None.
        values: The ``redact_values`` redactor, or None.
        keys_first: Whether ``keys`` runs before ``values`` (the value a key masks is then
            scanned by ``values`` too, as the chain would).
    """

    __slots__ = (
        "_cached_chars",
        "_keys",
        "_values",
        "clean_texts",
        "int_scan_min",
        "key_masks",
        "masked_value",
        "min_text_length",
        "value_mask",
    )

    def __init__(
        self, keys: KeyRedactor | None, values: ValueRedactor | None, *, keys_first: bool
    ) -> None:
        self._keys = keys
        self._values = values
        masked: str | None = None
        if keys is not None:
            masked = keys.mask
            if values is not None and keys_first:
                masked = values.clean_value(masked)
        #: What the value of a masked key becomes (None without a key redactor).
        self.masked_value = masked
        self.key_masks: dict[str, bool] = {}
        #: Bounded as the value redactor bounds its own cache (entries and characters).
        self.clean_texts: dict[str, str] = {}
        self._cached_chars = 0
        #: Strings shorter than this are never changed.
        self.min_text_length = values.min_length if values is not None else _NEVER
        #: Integers from this one up may be masked; None: no integer is.
        self.int_scan_min = values.scans_integers_from if values is not None else None
        #: What an integer that is a card number becomes (None without a value redactor).
        self.value_mask = values.mask if values is not None else None

    @property
    def scans_values(self) -> bool:
        """Whether a value redactor runs (texts and integers may change)."""
        return self._values is not None

    def masked(self, key: str) -> bool:
        """Whether the value of attribute ``key`` (an exact ``str``) is masked whole."""
        decision = self.key_masks.get(key)
        if decision is None:
            decision = self._keys is not None and self._keys.masks(key)
            remember(self.key_masks, key, decision, CACHE_LIMIT)
        return decision

    def text(self, text: str) -> str:
        """``text`` (an exact ``str``) with its secrets masked."""
        if len(text) < self.min_text_length:
            return text
        clean = self.clean_texts.get(text)
        if clean is None:
            assert self._values is not None
            clean = self._values.clean_value(text)
            self._cached_chars = cache_text(self.clean_texts, self._cached_chars, text, clean)
        return clean

    def attribute(self, key: str, value: Any) -> Any:
        """The value an attribute ``key`` = ``value`` (a scalar of an exact type) is sent
        with."""
        if self._keys is not None and self.masked(key):
            return self.masked_value
        if value.__class__ is str:
            return self.text(value)
        if self._values is None:
            return value
        return self._values.clean_value(value)


class DirectPlan:
    """How exporters turn the tuples of a :class:`DirectBatch` into what they send.

    Args:
        resource: The resource of every tuple that carries none of its own.
        redaction: The fused redaction (None: the chain is empty).
        count_limit: Most attributes per record, or None.
        links: The chain's redactors (for :meth:`record`).
        stages: The worker's ordinary conversion and limits (for :meth:`record`).
        diagnostics: Where a redactor's failure is reported.
    """

    __slots__ = (
        "_diagnostics",
        "_links",
        "_scopes",
        "_stages",
        "count_limit",
        "redaction",
        "resource",
    )

    def __init__(
        self,
        *,
        resource: Resource,
        redaction: Redaction | None,
        count_limit: int | None,
        links: Sequence[ChainLink],
        stages: Any,
        diagnostics: Diagnostics,
    ) -> None:
        self.resource = resource
        self.redaction = redaction
        self.count_limit = count_limit
        self._links = tuple(links)
        self._stages = stages
        self._diagnostics = diagnostics
        self._scopes: dict[str, Scope] = {}

    def scope(self, scope: str | Scope) -> Scope:
        """The :class:`Scope` a tuple's scope slot names."""
        if scope.__class__ is not str:
            return scope  # type: ignore[return-value]
        named = self._scopes.get(scope)
        if named is None:
            named = remember(self._scopes, scope, Scope(scope), CACHE_LIMIT)
        return named

    def record(self, raw: RawRecord) -> LogRecord:
        """The record the ordinary path makes of ``raw``: converted, redacted, limited.

        Raises:
            Exception: ``raw`` cannot be converted (the exporter counts it unencodable).
        """
        record = to_record(raw, self.resource, self._scopes)
        for link in self._links:
            try:
                link.processor.process_batch([record])
            except Exception as exc:
                mask(record)
                link.stats.errors += 1
                link.stats.masked += 1
                self._diagnostics.warn(
                    f"processor:{link.name}",
                    f"redactor {link.name!r} raised {type(exc).__name__}: {exc}; records masked",
                )
        if self.count_limit is not None and len(record.attributes) > self.count_limit:
            self._stages.limit(record)
        return record


class DirectBatch(list):  # type: ignore[type-arg]
    """Queued tuples handed to exporters as they are, with the plan to encode them."""

    __slots__ = ("plan",)

    def __init__(self, raws: list[RawRecord], plan: DirectPlan) -> None:
        super().__init__(raws)
        self.plan = plan


def accepts_direct(exporter: object) -> bool:
    """Whether ``exporter`` encodes :class:`DirectBatch` objects itself."""
    from fapilog_otel.otlp._exporter import OTLPExporter

    return isinstance(exporter, OTLPExporter) and exporter.accepts_direct


def direct_path_enabled() -> bool:
    """False when ``FAPILOG_DIRECT_PATH`` turns the direct path off (read per container)."""
    return os.environ.get(DIRECT_PATH_VARIABLE, "").strip().lower() not in _FALSE_VALUES


def plan_direct(
    *,
    chain: Chain,
    exporters: Sequence[object],
    resource: Resource,
    count_limit: int | None,
    length_limit: int | None,
    stages: Any,
    diagnostics: Diagnostics,
) -> DirectPlan | None:
    """The direct plan for a worker, or None when its configuration needs the ordinary path
    (see the module's docstring)."""
    if not exporters or length_limit is not None:
        return None
    if not all(accepts_direct(exporter) for exporter in exporters):
        return None
    keys: KeyRedactor | None = None
    values: ValueRedactor | None = None
    for link in chain.links:
        processor = link.processor
        if type(processor) is KeyRedactor and keys is None:
            keys = processor
        elif type(processor) is ValueRedactor and values is None:
            values = processor
        else:
            return None
    redaction = None
    if keys is not None or values is not None:
        first = chain.links[0].processor
        redaction = Redaction(keys, values, keys_first=first is keys)
    return DirectPlan(
        resource=resource,
        redaction=redaction,
        count_limit=count_limit,
        links=chain.links,
        stages=stages,
        diagnostics=diagnostics,
    )


def breakers_closed(chain: Chain) -> bool:
    """Whether no processor of ``chain`` is circuit-broken (else the ordinary path runs)."""
    return all(link.breaker.state == CLOSED for link in chain.links)
