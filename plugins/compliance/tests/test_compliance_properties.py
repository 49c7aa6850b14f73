"""Property tests: generated card numbers, sensitive authentication data, PHI and personal
identifiers, put in every place a record can carry them, never reach an exporter in clear
with their profile on (alone, without the default redactors), and never reach a real OTLP
receiver with every profile on."""

from __future__ import annotations

import itertools
import logging
import string
from collections.abc import Iterator
from typing import Any

import fapilog_otel as fo
import pytest
from compliance_helpers import (
    KEY,
    PROSE,
    ROADS,
    close,
    leaks,
    otlp_receivers,
    pipeline,
    send,
    serialized,
)
from fapilog_otel.exporters import InMemoryExporter
from google.protobuf import json_format, text_format
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fapilog_compliance.gdpr import GdprConfig, Pseudonymiser
from fapilog_compliance.pci import PciRedactor, is_pan, luhn_valid

pytestmark = pytest.mark.property

DIGITS = string.digits
PROPERTY_SETTINGS = settings(
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Pipeline = tuple[fo.Container, InMemoryExporter, logging.Logger]

# ---------------------------------------------------------------- card data


def digits(size: int) -> st.SearchStrategy[str]:
    """``size`` random decimal digits."""
    return st.text(alphabet=DIGITS, min_size=size, max_size=size)


def check_digit(partial: str) -> str:
    """The digit that makes ``partial`` + it pass the Luhn check."""
    return next(d for d in DIGITS if luhn_valid(partial + d))


#: (prefixes, lengths) of the card brands: Visa, Mastercard (both ranges), American
#: Express, Discover, JCB, Diners Club, UnionPay, Maestro.
BRANDS: list[tuple[st.SearchStrategy[str], tuple[int, ...]]] = [
    (st.just("4"), (13, 16, 19)),
    (st.integers(51, 55).map(str), (16,)),
    (st.integers(2221, 2720).map(str), (16,)),
    (st.sampled_from(["34", "37"]), (15,)),
    (st.sampled_from(["6011", "65", "644", "649"]), (16, 17, 18, 19)),
    (st.integers(3528, 3589).map(str), (16, 17, 18, 19)),
    (st.sampled_from(["36", "38", "300", "305"]), (14,)),
    (st.just("62"), (16, 17, 18, 19)),
    (st.sampled_from(["5018", "5020", "6304", "6759"]), (13, 15, 16, 19)),
]


@st.composite
def pans(draw: st.DrawFn) -> str:
    """A Luhn-valid card number of a random brand and length."""
    prefixes, lengths = draw(st.sampled_from(BRANDS))
    prefix = draw(prefixes)
    length = draw(st.sampled_from(lengths))
    partial = prefix + draw(digits(length - len(prefix) - 1))
    return partial + check_digit(partial)


@st.composite
def written_pans(draw: st.DrawFn) -> tuple[str, str]:
    """A card number as written (contiguous, or grouped by one separator) and its digits."""
    number = draw(pans())
    separator = draw(st.sampled_from(["", " ", "-", "."]))
    if not separator:
        return number, number
    style = draw(st.sampled_from(["fours", "amex", "random"]))
    if style == "fours":
        cuts = list(range(4, len(number), 4))
    elif style == "amex":
        cuts = [4, 10]
    else:
        cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), min_size=1, max_size=5)))
    bounds = [0, *cuts, len(number)]
    groups = [number[a:b] for a, b in itertools.pairwise(bounds)]
    return separator.join(groups), number


@st.composite
def tracks(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Track 1 or track 2 data around a card number, and what must not leak of it."""
    number = draw(pans())
    expiry = draw(digits(4))
    rest = draw(digits(3)) + draw(digits(draw(st.integers(4, 16))))
    kind = draw(st.sampled_from(["track1", "track1_bare", "track2", "track2_bare", "emv"]))
    if kind == "track1":
        name = draw(st.text(alphabet=string.ascii_uppercase + "/ ", min_size=2, max_size=26))
        text = f"%B{number}^{name}^{expiry}{rest}?"
    elif kind == "track1_bare":
        text = f"B{number}^DOE/JANE^{expiry}{rest}"
    elif kind == "track2":
        text = f";{number}={expiry}{rest}?"
    elif kind == "track2_bare":
        text = f"{number}={expiry}{rest}"
    else:
        text = f"{number}D{expiry}{rest}"
    return text, [text, number, expiry + rest]


def spelt(words: list[str]) -> st.SearchStrategy[str]:
    """``words`` joined as a key in a random style: snake, kebab, camel, upper, dotted."""
    return st.sampled_from(
        [
            "_".join(words),
            "-".join(words),
            words[0] + "".join(w.title() for w in words[1:]),
            "_".join(words).upper(),
            "card." + "_".join(words),
        ]
    )


CVV_KEYS = st.sampled_from(
    [["cvv"], ["cvc"], ["cvv2"], ["cvc2"], ["card", "verification"], ["security", "code"]]
).flatmap(spelt)

# ---------------------------------------------------------------- PHI and personal data


@st.composite
def ssns(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A valid SSN written with dashes or spaces, and its probes."""
    area = draw(st.integers(1, 899).filter(lambda n: n != 666))
    group = draw(st.integers(1, 99))
    serial = draw(st.integers(1, 9999))
    separator = draw(st.sampled_from(["-", " "]))
    text = f"{area:03d}{separator}{group:02d}{separator}{serial:04d}"
    return text, [text]


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An e-mail address, and its probe."""
    local_chars = string.ascii_letters + string.digits + "._%+-"
    local = draw(st.text(alphabet=local_chars, min_size=1, max_size=20))
    assume(local.strip(".") and local[0] not in ".%+-" and local[-1] not in ".%+-")
    labels = draw(
        st.lists(
            st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10),
            min_size=1,
            max_size=3,
        )
    )
    top = draw(st.text(alphabet=string.ascii_letters, min_size=2, max_size=6))
    text = f"{local}@{'.'.join(labels)}.{top}"
    return text, [text]


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A phone number in a recognisable format, and its probes."""
    area, exchange, line = draw(digits(3)), draw(digits(3)), draw(digits(4))
    style = draw(st.integers(0, 6))
    if style == 0:
        text = f"({area}) {exchange}-{line}"
    elif style == 1:
        text = f"{area}-{exchange}-{line}"
    elif style == 2:
        text = f"{area}.{exchange}.{line}"
    elif style == 3:
        text = f"+1 {area} {exchange} {line}"
    elif style == 4:
        text = f"1-{area}-{exchange}-{line}"
    elif style == 5:
        country = draw(st.integers(2, 99))
        text = f"+{country} {area[:2]} {exchange}{line[:1]} {line}"
    else:
        text = f"+{draw(st.integers(2, 99))}{area}{exchange}{line}"
    return text, [text]


@st.composite
def ipv4s(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An IPv4 address, and its probe."""
    text = str(draw(st.ip_addresses(v=4)))
    return text, [text]


@st.composite
def ipv6s(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An IPv6 address (with a hex digit other than 0, so it is not ``::``), and its probe."""
    address = draw(st.ip_addresses(v=6))
    assume(address.packed.strip(b"\x00"))
    text = address.compressed
    return text, [text, address.exploded]


@st.composite
def labelled_ids(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A medical record or member number after its label, and its probe."""
    label = draw(st.sampled_from(["MRN:", "MRN", "mrn#", "Medical record number", "member id:"]))
    value = draw(st.sampled_from(string.ascii_uppercase)) + draw(digits(6))
    return f"{label} {value}", [value]


@st.composite
def labelled_dates(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A date of birth after its label, and its probe."""
    year, month, day = (
        draw(st.integers(1900, 2020)),
        draw(st.integers(1, 12)),
        draw(st.integers(1, 28)),
    )
    value = draw(
        st.sampled_from([f"{year}-{month:02d}-{day:02d}", f"{month:02d}/{day:02d}/{year}"])
    )
    label = draw(st.sampled_from(["DOB:", "dob", "date of birth:", "Birth date"]))
    return f"{label} {value}", [value]


def in_prose(case: st.SearchStrategy[tuple[str, list[str]]]) -> st.SearchStrategy[Any]:
    """A case with words (no digits) before and after it."""
    words = st.text(alphabet=PROSE, max_size=12)
    return st.tuples(words, case, words).map(
        lambda parts: (f"{parts[0]} {parts[1][0]} {parts[2]}", parts[1][1])
    )


# ---------------------------------------------------------------- pipelines


def profile_pipeline(name: str) -> Iterator[Pipeline]:
    """A container with only the profile ``name`` (no default redactors)."""
    made = pipeline(
        fo.Settings(
            compliance=[name],
            redactors=[],
            diagnostics=False,
            plugins={"gdpr": {"key": KEY}} if name == "gdpr" else {},
        )
    )
    yield made
    close(made[0], made[2])


@pytest.fixture(scope="module")
def pci_pipeline() -> Iterator[Pipeline]:
    """The ``pci`` profile alone."""
    yield from profile_pipeline("pci")


@pytest.fixture(scope="module")
def hipaa_pipeline() -> Iterator[Pipeline]:
    """The ``hipaa`` profile alone."""
    yield from profile_pipeline("hipaa")


@pytest.fixture(scope="module")
def gdpr_pipeline() -> Iterator[Pipeline]:
    """The ``gdpr`` profile alone."""
    yield from profile_pipeline("gdpr")


def through(made: Pipeline, road: str, value: Any) -> str:
    """Log ``value`` through ``road``; the exported records' bodies and attributes as text."""
    container, exporter, bridged = made
    exporter.clear()
    send(road, value, container, bridged)
    assert container.flush(5)
    records = list(exporter.records)
    assert records, "the record was exported"
    return serialized(records)


def attribute_road(made: Pipeline, road: str, key: str, value: Any) -> list[Any]:
    """Log ``value`` under ``key`` through an attribute road; every value exported under
    ``key``, at any depth."""
    container, exporter, bridged = made
    exporter.clear()
    log = container.get_logger("keys")
    if road == "keyword":
        log.info("event", **{key: value})
    elif road == "nested":
        log.info("event", payment={"card": [{key: value}]})
    elif road == "bound":
        log.bind(**{key: value}).info("event")
    elif road == "context":
        with fo.bound_contextvars(**{key: value}):
            log.info("event")
    else:
        bridged.warning("saw", extra={key: value})
    assert container.flush(5)
    found: list[Any] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for name, inner in item.items():
                if name == key:
                    found.append(inner)
                walk(inner)
        elif isinstance(item, (list, tuple)):
            for inner in item:
                walk(inner)

    for exported_record in exporter.records:
        walk(exported_record.attributes)
    return found


ATTRIBUTE_ROADS = st.sampled_from(["keyword", "nested", "bound", "context", "stdlib_extra"])

# ---------------------------------------------------------------- the properties


class TestPci:
    @PROPERTY_SETTINGS
    @given(written_pans(), st.sampled_from(ROADS))
    def test_card_numbers_never_leak(
        self, pci_pipeline: Pipeline, card: tuple[str, str], road: str
    ) -> None:
        """A card number, however written, reaches the exporter truncated only."""
        written, number = card
        content = through(pci_pipeline, road, written)
        assert [] == leaks(content, [written, number])
        assert f"{number[:6]}" in content or len(number) < 16

    @PROPERTY_SETTINGS
    @given(pans(), st.sampled_from(["keyword", "nested", "bound", "context"]), st.booleans())
    def test_card_numbers_as_numbers_never_leak(
        self, pci_pipeline: Pipeline, number: str, road: str, negative: bool
    ) -> None:
        """A card number logged as an integer reaches the exporter truncated only."""
        value = -int(number) if negative else int(number)
        found = attribute_road(pci_pipeline, road, "amount_ref", value)
        assert found and all(isinstance(v, str) and "*" in v for v in found)

    @PROPERTY_SETTINGS
    @given(tracks(), st.sampled_from(ROADS))
    def test_track_data_never_leaks(
        self, pci_pipeline: Pipeline, track: tuple[str, list[str]], road: str
    ) -> None:
        """Track data reaches the exporter as ``[REDACTED:track]`` only."""
        text, probes = track
        content = through(pci_pipeline, road, text)
        assert [] == leaks(content, probes)

    @PROPERTY_SETTINGS
    @given(CVV_KEYS, st.one_of(digits(3), digits(4), st.integers(100, 9999)), ATTRIBUTE_ROADS)
    def test_verification_codes_never_kept(
        self, pci_pipeline: Pipeline, key: str, code: Any, road: str
    ) -> None:
        """A card verification code under its key, spelt any way, is replaced whole."""
        found = attribute_road(pci_pipeline, road, key, code)
        assert found and all(v == "[REDACTED:cvv]" for v in found)

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=DIGITS + " -.", min_size=1, max_size=40), st.text(PROSE))
    def test_other_numbers_untouched(self, numbers: str, words: str) -> None:
        """Text whose digit groups hold no card number comes back unchanged."""
        squeezed = [
            "".join(c for c in numbers[i:j] if c.isdigit())
            for i in range(len(numbers))
            for j in range(i + 1, len(numbers) + 1)
        ]
        assume(not any(is_pan(s) for s in squeezed))
        text = f"{words} {numbers}"
        assert text == PciRedactor()._scan(text)


PHI = st.one_of(
    ssns(),
    emails(),
    phones(),
    labelled_ids(),
    labelled_dates(),
    in_prose(ssns()),
    in_prose(phones()),
)
HIPAA_KEYS = st.sampled_from(
    [
        ["first", "name"],
        ["last", "name"],
        ["patient", "name"],
        ["ssn"],
        ["mrn"],
        ["medical", "record", "number"],
        ["date", "of", "birth"],
        ["dob"],
        ["health", "plan", "id"],
        ["member", "id"],
        ["email"],
        ["phone"],
        ["fax"],
        ["street"],
        ["zip", "code"],
        ["device", "id"],
        ["serial", "number"],
        ["account", "number"],
        ["license", "number"],
        ["ip", "address"],
        ["url"],
    ]
).flatmap(spelt)


class TestHipaa:
    @PROPERTY_SETTINGS
    @given(PHI, st.sampled_from(ROADS))
    def test_identifiers_in_text_never_leak(
        self, hipaa_pipeline: Pipeline, case: tuple[str, list[str]], road: str
    ) -> None:
        """An SSN, e-mail address, phone number, labelled MRN or date of birth anywhere in
        a record reaches the exporter masked."""
        text, probes = case
        content = through(hipaa_pipeline, road, text)
        assert [] == leaks(content, probes)

    @PROPERTY_SETTINGS
    @given(HIPAA_KEYS, st.text(alphabet=PROSE + DIGITS, min_size=1, max_size=20), ATTRIBUTE_ROADS)
    def test_values_under_known_keys_never_kept(
        self, hipaa_pipeline: Pipeline, key: str, value: str, road: str
    ) -> None:
        """Whatever is logged under a known PHI key, spelt any way, is replaced whole."""
        found = attribute_road(hipaa_pipeline, road, key, value)
        assert found and all(v.startswith("[REDACTED:") for v in found)


PERSONAL = st.one_of(emails(), phones(), ipv4s(), ipv6s(), in_prose(emails()), in_prose(ipv4s()))


class TestGdpr:
    @PROPERTY_SETTINGS
    @given(PERSONAL, st.sampled_from(ROADS))
    def test_identifiers_never_leak(
        self, gdpr_pipeline: Pipeline, case: tuple[str, list[str]], road: str
    ) -> None:
        """An e-mail address, phone number or IP address anywhere in a record reaches the
        exporter as a pseudonym."""
        text, probes = case
        content = through(gdpr_pipeline, road, text)
        assert [] == leaks(content, probes)
        assert "pseudo:" in content

    @PROPERTY_SETTINGS
    @given(st.one_of(emails(), phones(), ipv4s(), ipv6s()))
    def test_pseudonyms_are_stable(
        self, gdpr_pipeline: Pipeline, case: tuple[str, list[str]]
    ) -> None:
        """An identifier alone as the message gets the pseudonym a separate processor with
        the same key computes, and a processor with another key does not."""
        text, _ = case
        content = through(gdpr_pipeline, "message", text)
        same = Pseudonymiser(GdprConfig.model_validate({"key": KEY})).pseudonymise(text)
        other = Pseudonymiser(GdprConfig.model_validate({"key": KEY[::-1]})).pseudonymise(text)
        assert f'"body": "{same}"' in content
        assert other != same


# ---------------------------------------------------------------- end to end over OTLP

ANY_CASE = st.one_of(
    written_pans().map(lambda card: (card[0], [card[0], card[1]])),
    tracks(),
    ssns(),
    emails(),
    phones(),
    ipv4s(),
    ipv6s(),
    labelled_ids(),
    labelled_dates(),
)


@pytest.fixture(scope="module")
def otlp_pipeline() -> Iterator[tuple[Pipeline, Any]]:
    """Every profile, with the default redactors, exporting OTLP/protobuf to a receiver."""
    receivers = otlp_receivers()
    with receivers.HttpReceiver() as receiver:
        made = pipeline(
            fo.Settings(
                exporters=["otlp"],
                otlp={"endpoint": receiver.endpoint},
                compliance=["pci", "hipaa", "gdpr"],
                plugins={"gdpr": {"key": KEY}},
                diagnostics=False,
            ),
            in_memory=False,
        )
        yield made, receiver
        close(made[0], made[2])


@pytest.mark.integration
class TestOverOtlp:
    @settings(
        deadline=None,
        max_examples=20,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(ANY_CASE, min_size=1, max_size=6))
    def test_received_protobuf_holds_nothing_in_clear(
        self, otlp_pipeline: tuple[Pipeline, Any], cases: list[tuple[str, list[str]]]
    ) -> None:
        """Everything logged through every road, decoded by the receiver with the official
        protobuf classes, holds none of the data in clear in any body or attribute (in the
        protobuf text and JSON forms of those messages)."""
        (container, _, bridged), receiver = otlp_pipeline
        receiver.reset()
        for text, _ in cases:
            for road in ROADS:
                send(road, text, container, bridged)
        assert container.flush(10)
        received = receiver.wait_for_records(len(cases) * len(ROADS), timeout=5)
        content = "\n".join(
            text_format.MessageToString(part, as_utf8=True) + json_format.MessageToJson(part)
            for _, _, log_record in received
            for part in (log_record.body, *log_record.attributes)
        )
        probes = [probe for _, case_probes in cases for probe in case_probes]
        assert [] == leaks(content, probes)
