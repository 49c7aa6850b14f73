"""Redaction properties: a generated secret of any kind, put anywhere in a record, never
survives the default redactors; harmless look-alikes always survive them unchanged."""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource

from fapilog_otel._raw import exception_attributes
from fapilog_otel.processors._secrets import luhn_valid
from fapilog_otel.processors.redact import KeyRedactor, ValueRedactor
from fapilog_otel.record import LogRecord, Scope

pytestmark = pytest.mark.property

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
BASE64URL = ALNUM + "-_"
WORDS = [
    "order",
    "placed",
    "user",
    "login",
    "failed",
    "retry",
    "token",
    "password",
    "bearer",
    "basic",
    "key",
    "secret",
    "the",
    "with",
    "card",
    "declined",
]

KEYS = KeyRedactor()
VALUES = ValueRedactor()

prose = st.lists(st.sampled_from(WORDS), min_size=0, max_size=4).map(" ".join)


def text(alphabet: str, min_size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size or min_size)


def with_digit(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values with a digit, which no surrounding prose word can contain."""
    return strategy.filter(lambda value: any(c.isdigit() for c in value))


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    """A Luhn-valid card number, contiguous or in groups of four."""
    length = draw(st.integers(13, 19))
    body = draw(st.sampled_from("23456")) + draw(text(string.digits, length - 2))
    check = next(d for d in string.digits if luhn_valid(body + d))
    digits = body + check
    separator = draw(st.sampled_from(["", " ", "-"]))
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return separator.join(groups), digits


@st.composite
def bearer(draw: st.DrawFn) -> tuple[str, str]:
    token = draw(with_digit(text(ALNUM + "-._~+/", 8, 60)))
    return f"{draw(st.sampled_from(['Bearer', 'bearer', 'BEARER']))} {token}", token


@st.composite
def basic(draw: st.DrawFn) -> tuple[str, str]:
    user = draw(text(string.ascii_lowercase, 1, 12))
    password = draw(text(ALNUM + "!#%", 1, 20))
    credential = base64.b64encode(f"{user}:{password}".encode()).decode()
    assume(any(not c.islower() for c in credential) and len(credential) >= 8)
    return f"Basic {credential}", credential


@st.composite
def jwt(draw: st.DrawFn) -> tuple[str, str]:
    segments = [draw(text(BASE64URL, 4, 60)) for _ in range(3)]
    token = f"eyJ{segments[0]}.eyJ{segments[1]}.{segments[2]}"
    return token, token


def prefixed(prefixes: list[str], alphabet: str, size: int, upto: int | None = None) -> Any:
    return st.tuples(st.sampled_from(prefixes), text(alphabet, size, upto)).map(
        lambda pair: (pair[0] + pair[1], pair[0] + pair[1])
    )


@st.composite
def github_pat(draw: st.DrawFn) -> tuple[str, str]:
    token = f"github_pat_{draw(text(ALNUM, 22))}_{draw(text(ALNUM, 59))}"
    return token, token


@st.composite
def slack_token(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from("baprs"))
    token = f"xox{kind}-{draw(text(string.digits, 10, 13))}-{draw(text(ALNUM, 24))}"
    return token, token


@st.composite
def slack_webhook(draw: st.DrawFn) -> tuple[str, str]:
    path = f"T{draw(text(UPPER_ALNUM, 8))}/B{draw(text(UPPER_ALNUM, 8))}/{draw(text(ALNUM, 24))}"
    return f"https://hooks.slack.com/services/{path}", path


@st.composite
def private_key(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "]))
    body = with_digit(text(string.ascii_letters + string.digits + "+/", 16, 64))
    lines = draw(st.lists(body, min_size=1, max_size=4))
    block = f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines)
    if draw(st.booleans()):
        block += f"\n-----END {kind}PRIVATE KEY-----"
    return block, lines[0]


@st.composite
def url_credentials(draw: st.DrawFn) -> tuple[str, str]:
    scheme = draw(st.sampled_from(["https", "postgres", "redis", "amqp", "mongodb+srv"]))
    user = draw(text(string.ascii_lowercase, 0, 10))
    password = draw(with_digit(text(ALNUM + "%!*$", 6, 30)))
    host = draw(text(string.ascii_lowercase, 1, 12))
    return f"{scheme}://{user}:{password}@{host}.example:5432/db", password


@st.composite
def secret_query(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(
        st.sampled_from(
            [
                "token",
                "access_token",
                "api_key",
                "apikey",
                "password",
                "secret",
                "client_secret",
                "signature",
                "sig",
                "key",
                "X-Amz-Signature",
                "X-Amz-Credential",
                "X-Amz-Security-Token",
            ]
        )
    )
    value = draw(with_digit(text(ALNUM + "%-_.", 6, 40)))
    lead = draw(st.sampled_from(["https://api.example/v1/items?page=2&", "/cb?", "a=1;", ""]))
    assume(lead or name != "key")  # a bare ``key=`` is a secret only inside a query
    return f"{lead}{name}={value}&lang=en", value


#: Each secret kind: a strategy of (the text to log, the part that must not survive).
SECRETS: dict[str, st.SearchStrategy[tuple[str, str]]] = {
    "card": cards(),
    "bearer": bearer(),
    "basic": basic(),
    "jwt": jwt(),
    "aws_access_key": prefixed(["AKIA", "ASIA"], UPPER_ALNUM, 16),
    "github": prefixed(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], ALNUM, 36),
    "github_pat": github_pat(),
    "slack": slack_token(),
    "slack_webhook": slack_webhook(),
    "stripe": prefixed(["sk_live_", "rk_live_", "sk_test_", "rk_test_"], ALNUM, 16, 40),
    "google_api_key": prefixed(["AIza"], ALNUM + "-_", 35),
    "private_key": private_key(),
    "url_credentials": url_credentials(),
    "secret_query": secret_query(),
}


def place(position: str, value: Any) -> tuple[Any, dict[str, Any]]:
    """A record's body and attributes with ``value`` at ``position``."""
    if position == "attribute":
        return "m", {"note": value}
    if position == "nested_dict":
        return "m", {"detail": {"inner": {"note": value}}}
    if position == "nested_list":
        return "m", {"items": ["x", [value], {"k": (value,)}]}
    if position == "sensitive_key":
        return "m", {"request": {"Authorization": value}, "password": value}
    if position == "body":
        return value, {}
    if position == "structured_body":
        return {"event": "e", "data": [{"note": value}]}, {}
    return "m", exception_attributes(ValueError(value))


POSITIONS = [
    "attribute",
    "nested_dict",
    "nested_list",
    "sensitive_key",
    "body",
    "structured_body",
    "exception",
]


def make_record(body: Any, attributes: dict[str, Any]) -> LogRecord:
    return LogRecord(
        timestamp=1,
        scope=Scope("s"),
        resource=Resource.get_empty(),
        body=body,
        attributes=attributes,
    )


def strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def redact(record: LogRecord) -> LogRecord:
    """Run the default redactors, in the default order."""
    return VALUES.process(KEYS.process(record))


def secrets_in_context() -> st.SearchStrategy[tuple[str, str, str, str]]:
    return st.sampled_from(sorted(SECRETS)).flatmap(
        lambda kind: st.tuples(st.just(kind), SECRETS[kind], prose, prose).map(
            lambda t: (t[0], t[1][0], t[1][1], f"{t[2]} {t[1][0]} {t[3]}".strip())
        )
    )


class TestSecretsNeverSurvive:
    """For every secret kind and every position, the secret is gone after redaction."""

    @settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(secrets_in_context(), st.sampled_from(POSITIONS), st.booleans())
    def test_secret_is_masked(
        self, case: tuple[str, str, str, str], position: str, surrounded: bool
    ) -> None:
        """The secret part appears nowhere in the processed record."""
        kind, secret, probe, in_text = case
        body, attributes = place(position, in_text if surrounded else secret)
        record = redact(make_record(body, attributes))
        leaked = [s for s in (*strings(record.body), *strings(record.attributes)) if probe in s]
        assert [] == leaked, f"{kind} survived at {position}"

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(sorted(SECRETS)).flatmap(lambda kind: SECRETS[kind]), prose, prose)
    def test_neighbours_of_a_secret_survive(
        self, secret: tuple[str, str], before: str, after: str
    ) -> None:
        """The words around a secret in a string are kept, in order.

        A private key cut off before its END line is masked to the end of the text, so it
        keeps only the words before it.
        """
        value, _probe = secret
        assume("-----BEGIN" not in value or "-----END" in value)
        cleaned = VALUES.process(make_record(f"{before} {value} {after}", {})).body
        assert cleaned.startswith(f"{before} ")
        assert cleaned.endswith(f" {after}")

    @settings(deadline=None)
    @given(cards())
    def test_card_digits_never_survive(self, card: tuple[str, str]) -> None:
        """Neither the formatted nor the bare digits of a card survive, as text or int."""
        formatted, digits = card
        record = redact(make_record(formatted, {"n": int(digits), "s": digits}))
        assert ("[REDACTED]", "[REDACTED]", "[REDACTED]") == (
            record.body,
            record.attributes["n"],
            record.attributes["s"],
        )


@st.composite
def luhn_failing(draw: st.DrawFn) -> str:
    digits = draw(text(string.digits, 13, 19))
    assume(not luhn_valid(digits))
    return digits


@st.composite
def publishable_key(draw: st.DrawFn) -> str:
    suffix = draw(st.sampled_from(string.ascii_letters)) + draw(text(ALNUM, 15, 40))
    assume(not any(mark in suffix for mark in ("AKIA", "ASIA", "AIza")))
    return f"pk_{draw(st.sampled_from(['live', 'test']))}_{suffix}"


def digest(algorithm: Callable[[bytes], Any]) -> st.SearchStrategy[str]:
    return st.binary(max_size=64).map(lambda data: algorithm(data).hexdigest())


paths = st.lists(
    text(string.ascii_lowercase + string.digits + "._-", 1, 12), min_size=1, max_size=6
).map(lambda parts: "/" + "/".join(parts))

HARMLESS: dict[str, st.SearchStrategy[Any]] = {
    "prose": prose,
    "luhn_failing": luhn_failing(),
    "publishable_key": publishable_key(),
    "iso_timestamp": st.datetimes().map(lambda moment: moment.isoformat()),
    "uuid": st.uuids().map(str),
    "path": paths,
    "sha1": digest(hashlib.sha1),
    "sha256": digest(hashlib.sha256),
    "phone": st.from_regex(r"\+1 [2-9][0-9]{2}-[0-9]{3}-[0-9]{4}", fullmatch=True),
    "epoch_ns": st.integers(1_000_000_000_000_000_000, 1_999_999_999_999_999_999),
    "small_int": st.integers(-(10**12) + 1, 10**12 - 1),
    "float": st.floats(allow_nan=False),
}


class TestHarmlessValuesSurvive:
    """Look-alikes of secrets pass both redactors unchanged, wherever they are."""

    @settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.sampled_from(sorted(HARMLESS)).flatmap(lambda kind: HARMLESS[kind]),
        st.sampled_from([p for p in POSITIONS if p not in ("sensitive_key", "exception")]),
    )
    def test_value_is_kept(self, value: Any, position: str) -> None:
        """The record is the same after redaction as before."""
        body, attributes = place(position, value)
        record = redact(make_record(body, attributes))
        assert place(position, value) == (record.body, record.attributes)

    @settings(deadline=None)
    @given(st.sampled_from(["author", "max_tokens", "session_count", "oauth_provider", "sha"]))
    def test_harmless_keys_are_kept(self, key: str) -> None:
        """Keys resembling sensitive names keep their values."""
        record = redact(make_record("m", {key: "value", "nested": {key: 1}}))
        assert {key: "value", "nested": {key: 1}} == record.attributes
