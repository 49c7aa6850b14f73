"""Tests for the ``redact_values`` redactor: secrets inside strings are masked in place."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from pydantic import ValidationError

from fapilog_otel._raw import exception_attributes
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.processors import redact as redact_module
from fapilog_otel.processors._secrets import DETECTOR_NAMES, card_int, luhn_valid
from fapilog_otel.processors.redact import ValueRedactor, ValueRedactorConfig
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.typing import PLUGIN_API_VERSION, BatchProcessor, Redactor

MASK = "[REDACTED]"
GITHUB = "ghp_" + "A1b2C3d4E5" * 3 + "f6G7h8"
STRIPE = "sk_live_" + "51Hx9ZqLmNoPqRsT" + "uv12"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA7bq3+secretsecret\n"
    "c2VjcmV0c2VjcmV0c2VjcmV0\n"
    "-----END RSA PRIVATE KEY-----"
)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def make_record(body: Any = "m", **attributes: Any) -> LogRecord:
    return LogRecord(
        timestamp=1,
        scope=Scope("s"),
        resource=Resource.get_empty(),
        body=body,
        attributes=attributes,
    )


def clean(text: str, **config: Any) -> str:
    """``text`` as a body after a redactor with ``config`` processed it."""
    body: str = ValueRedactor(ValueRedactorConfig(**config)).process(make_record(text)).body
    return body


class TestDetectors:
    """Each built-in detector masks its secret and keeps the text around it."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("card 4111 1111 1111 1111 declined", f"card {MASK} declined"),
            ("card 4111-1111-1111-1111", f"card {MASK}"),
            ("pan=4111111111111111;", f"pan={MASK};"),
            ("amex 3782 822463 10005 ok", f"amex {MASK} ok"),
            ("visa13 4222222222222 x", f"visa13 {MASK} x"),
            ("two 4111111111111111 and 5500005555555559", f"two {MASK} and {MASK}"),
            ("then 4111 1111 1111 1111 2024", f"then {MASK} 2024"),
        ],
    )
    def test_card(self, text: str, expected: str) -> None:
        """Luhn-valid card numbers, grouped or not, are masked."""
        assert expected == clean(text)

    @pytest.mark.parametrize(
        "text",
        [
            "order 4111111111111112 placed",
            "at 2024-01-15T12:34:56.789Z",
            "ms 1700000000000 ns 1700000000000000000",
            "call +1 555-123-4567",
            "uuid 12345678-1234-4234-8234-123456789012",
            "sha 2ca5e8b1f7b5d8a7c8e9f0a1b2c3d4e5f6a7b8c9",
            "joined 4111111111111111x",
            "too long 41111111111111111111111",
            "starts with 9 9111111111111116",
        ],
    )
    def test_card_neighbours_are_kept(self, text: str) -> None:
        """Numbers that fail Luhn, timestamps, phones, UUIDs and digests stay."""
        assert text == clean(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Authorization: Bearer abc123XYZ", f"Authorization: Bearer {MASK}"),
            ("header: bearer mF_9.B5f-4.1JqM rest", f"header: bearer {MASK} rest"),
            ("auth=Bearer mF_9.B5f-4.1JqM", f"auth={MASK} {MASK}"),
            ("BEARER " + "a" * 24, f"BEARER {MASK}"),
            ("Basic " + base64.b64encode(b"ann:hunter2").decode() + " end", f"Basic {MASK} end"),
        ],
    )
    def test_bearer(self, text: str, expected: str) -> None:
        """Bearer and Basic credentials are masked; the scheme word is kept."""
        assert expected == clean(text)

    @pytest.mark.parametrize(
        "text",
        [
            "Bearer tokens are accepted",
            "bearer authentication",
            "basic usage of the api",
            "Basic auth is off",
            "Basic " + base64.b64encode(b"no colon here").decode(),
        ],
    )
    def test_bearer_neighbours_are_kept(self, text: str) -> None:
        """Prose about bearer or basic authentication stays."""
        assert text == clean(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"token {JWT} expired", f"token {MASK} expired"),
            ("key AKIAIOSFODNN7EXAMPLE used", f"key {MASK} used"),
            ("temp ASIAY34FZKBOKMUTVV7A", f"temp {MASK}"),
            (f"gh {GITHUB}!", f"gh {MASK}!"),
            ("pat github_pat_11ABCDEFG0123456789_abcdefghij", f"pat {MASK}"),
            ("slack xoxb-1234567890-0987654321-AbCdEfGh ok", f"slack {MASK} ok"),
            (
                "hook https://hooks.slack.com/services/T0001/B0001/XXXXabcd end",
                f"hook https://hooks.slack.com/services/{MASK} end",
            ),
            (f"stripe {STRIPE}.", f"stripe {MASK}."),
            ("restricted rk_test_" + "a1B2c3D4e5F6g7H8", f"restricted {MASK}"),
            ("google AIza" + "SyA-1234567890abcdefghijklmnopqrs_t" + " x", f"google {MASK} x"),
            (f"key:\n{PEM}\nafter", f"key:\n{MASK}\nafter"),
            ("cut -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B", f"cut {MASK}"),
            ("db postgres://app:s3cr%40t@db:5432/app", f"db postgres://app:{MASK}@db:5432/app"),
            ("redis://:hunter2@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
            ("raw postgres://u:p@ss@db/x", f"raw postgres://u:{MASK}@db/x"),
        ],
    )
    def test_token_shapes(self, text: str, expected: str) -> None:
        """JWTs, cloud and SaaS tokens, PEM keys and URL passwords are masked."""
        assert expected == clean(text)

    @pytest.mark.parametrize(
        "text",
        [
            "publishable pk_live_" + "a1B2c3D4e5F6g7H8i9",
            "https://example.com:8443/path?page=2",
            "mailto:ann@example.com",
            "see https://ann@example.com/",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "/var/log/app/server.log",
            "550e8400-e29b-41d4-a716-446655440000",
            "eyJ alone is not a token",
            "AKIA too short",
        ],
    )
    def test_token_neighbours_are_kept(self, text: str) -> None:
        """Public keys, plain URLs, certificates, paths and UUIDs stay."""
        assert text == clean(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                "GET /cb?state=xyz&access_token=abc123&expires_in=3600",
                f"GET /cb?state=xyz&access_token={MASK}&expires_in=3600",
            ),
            (
                "https://s3.aws/b/o?X-Amz-Credential=AK%2F2024&X-Amz-Signature=ff00&X-Amz-Date=1",
                f"https://s3.aws/b/o?X-Amz-Credential={MASK}&X-Amz-Signature={MASK}&X-Amz-Date=1",
            ),
            ("maps?key=AIzaShort&zoom=3", f"maps?key={MASK}&zoom=3"),
            ("u?api_key=k1;sig=s2#frag", f"u?api_key={MASK};sig={MASK}#frag"),
            ("password=hunter2&user=ann", f"password={MASK}&user=ann"),
            ("/login?user=ann&Password=x", f"/login?user=ann&Password={MASK}"),
            ("login failed password=hunter2 user=ann", f"login failed password={MASK} user=ann"),
            ("url sig=abc&x=1 ok", f"url sig={MASK}&x=1 ok"),
        ],
    )
    def test_secret_query(self, text: str, expected: str) -> None:
        """Secret-named query parameters are masked; the others are kept."""
        assert expected == clean(text)

    @pytest.mark.parametrize(
        "text",
        [
            "/search?q=monkey&keyboard=us&tokens=5&code=US",
            "retry attempt=2 of 3",
            "cache key=user:42",
        ],
    )
    def test_secret_query_neighbours_are_kept(self, text: str) -> None:
        """Harmless parameters, and a bare ``key=`` outside a query, stay."""
        assert text == clean(text)


class TestConfiguration:
    """``disable``, ``patterns`` and ``mask``."""

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            ("card", "4111 1111 1111 1111"),
            ("bearer", "Bearer abc123XYZ"),
            ("jwt", JWT),
            ("aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
            ("github", GITHUB),
            ("slack", "xoxb-1234567890-abcdefghij"),
            ("stripe", STRIPE),
            ("google_api_key", "AIza" + "b" * 35),
            ("private_key", PEM),
            ("url_credentials", "ftp://ann:hunter2@host/"),
            ("secret_query", "/x?token=abc"),
        ],
    )
    def test_each_detector_can_be_disabled(self, name: str, text: str) -> None:
        """A disabled detector leaves its secret; enabled, it masks it."""
        assert (text, True) == (clean(text, disable=[name]), MASK in clean(text))

    def test_detector_names(self) -> None:
        """The documented detectors exist, in the order they run."""
        expected = (
            "private_key",
            "bearer",
            "url_credentials",
            "secret_query",
            "jwt",
            "aws_access_key",
            "github",
            "slack",
            "stripe",
            "google_api_key",
            "card",
        )
        assert expected == DETECTOR_NAMES

    def test_unknown_detector_is_refused(self) -> None:
        """Disabling a detector that does not exist is a configuration error naming it."""
        with pytest.raises(ConfigurationError, match="'cards'"):
            ValueRedactor(ValueRedactorConfig(disable=["cards"]))

    def test_all_disabled(self) -> None:
        """With every detector off, nothing is masked."""
        text = "4111 1111 1111 1111 " + JWT
        assert text == clean(text, disable=list(DETECTOR_NAMES))

    def test_user_pattern(self) -> None:
        """Matches of a user pattern are masked, with or without the built-ins."""
        text = "customer acct_12345678 and SSN-123-45-6789 here"
        expected = f"customer {MASK} and {MASK} here"
        patterns = [r"acct_[0-9]{8}", r"\bSSN-\d{3}-\d{2}-\d{4}\b"]
        assert expected == clean(text, patterns=patterns)
        assert expected == clean(text, patterns=patterns, disable=list(DETECTOR_NAMES))

    def test_user_pattern_short_strings(self) -> None:
        """User patterns see strings shorter than any built-in secret."""
        assert MASK == clean("42", patterns=[r"\d+"])

    @pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w+\s?)*x", r"(a)\1", "("])
    def test_unsafe_pattern_is_refused(self, pattern: str) -> None:
        """A risky or invalid pattern fails at construction, naming the pattern."""
        with pytest.raises(ConfigurationError) as caught:
            ValueRedactor(ValueRedactorConfig(patterns=[pattern]))
        assert repr(pattern) in str(caught.value)

    @pytest.mark.parametrize("mask", ["***", r"\1", r"\g<0>", ""])
    def test_mask_is_literal(self, mask: str) -> None:
        """The mask is inserted literally, backslashes and all."""
        text = "k AKIAIOSFODNN7EXAMPLE u http://a:b@h/ c 4111111111111111"
        expected = f"k {mask} u http://a:{mask}@h/ c {mask}"
        assert expected == clean(text, mask=mask, patterns=[r"zz+"])

    def test_config_rejects_unknown_settings(self) -> None:
        """Unknown settings are refused."""
        with pytest.raises(ValidationError):
            ValueRedactorConfig(detectors=[])  # type: ignore[call-arg]


class TestPositions:
    """Every string of a record is scanned, wherever it is."""

    def test_attributes_nested_and_body(self) -> None:
        """Top-level, nested dict/list/tuple values and a structured body are cleaned."""
        secret = "AKIAIOSFODNN7EXAMPLE"
        record = make_record(
            body={"msg": f"using {secret}", "list": [secret]},
            top=f"k={secret}",
            nested={"a": {"b": [f"x {secret}", 1, None]}},
            pair=("ok", secret),
        )
        ValueRedactor().process(record)
        assert {"msg": f"using {MASK}", "list": [MASK]} == record.body
        expected = {
            "top": f"k={MASK}",
            "nested": {"a": {"b": [f"x {MASK}", 1, None]}},
            "pair": ("ok", MASK),
        }
        assert expected == record.attributes

    def test_exception_attributes(self) -> None:
        """``exception.message`` and ``exception.stacktrace`` are cleaned."""
        try:
            raise ValueError("card 4111 1111 1111 1111 declined")
        except ValueError as exc:
            attributes = exception_attributes(exc)
        record = ValueRedactor().process(make_record(**attributes))
        assert f"card {MASK} declined" == record.attributes["exception.message"]
        assert "4111" not in record.attributes["exception.stacktrace"]
        assert "ValueError" == record.attributes["exception.type"]

    @pytest.mark.parametrize(
        "secret",
        [
            "Bearer abc123XYZ",
            "AKIAIOSFODNN7EXAMPLE",
            JWT,
            GITHUB,
            STRIPE,
            "xoxb-1234567890-abcdefghij",
            "https://u:hunter2@h/",
            "&token=abc123",
            "4111 1111 1111 1111",
            PEM,
        ],
    )
    def test_long_strings(self, secret: str) -> None:
        """Strings past the pre-filter length are still scanned by every detector."""
        text = "lorem ipsum " * (redact_module.PREFILTER_MAX_LENGTH // 6) + secret + " end"
        assert MASK in ValueRedactor().process(make_record(text)).body

    def test_integer_card_number(self) -> None:
        """An integer that is a card number is masked; other integers stay."""
        record = make_record(card=4111111111111111, order=4111111111111112, ms=1700000000000)
        ValueRedactor().process(record)
        assert {"card": MASK, "order": 4111111111111112, "ms": 1700000000000} == (record.attributes)

    def test_bytes(self) -> None:
        """Bytes are scanned as UTF-8; undecodable bytes survive unchanged."""
        record = make_record(raw=b"\xff token AKIAIOSFODNN7EXAMPLE \xfe", plain=b"\xffhello")
        ValueRedactor().process(record)
        assert {"raw": b"\xff token [REDACTED] \xfe", "plain": b"\xffhello"} == record.attributes

    def test_other_values_are_kept(self) -> None:
        """Floats, bools, None and other immutable values pass untouched."""
        attributes = {"f": 1.5, "b": True, "n": None, "big": 10**30}
        record = ValueRedactor().process(make_record(**attributes))
        assert attributes == record.attributes

    def test_shared_nested_list_is_copied_not_changed(self) -> None:
        """A nested container needing a change is replaced by a copy; the original stays."""
        shared = ["Bearer abc123XYZ", "plain"]
        record = make_record(ctx=shared)
        ValueRedactor().process(record)
        assert [f"Bearer {MASK}", "plain"] == record.attributes["ctx"]
        assert ["Bearer abc123XYZ", "plain"] == shared

    def test_clean_values_keep_their_identity(self) -> None:
        """Clean strings and containers are not rebuilt."""
        body = "order placed for customer"
        nested = {"a": ["b", {"c": "d"}]}
        record = ValueRedactor().process(make_record(body, ctx=nested))
        assert (body, nested) == (record.body, record.attributes["ctx"])
        assert record.body is body
        assert record.attributes["ctx"] is nested

    def test_depth_cut_masks_deeper_values(self) -> None:
        """Nesting beyond the cut is masked rather than scanned (fail closed)."""
        deep: Any = ["clean"]
        for _ in range(redact_module.DEPTH_CUT + 5):
            deep = [deep]
        record = ValueRedactor().process(make_record(deep=deep))
        node = record.attributes["deep"]
        while isinstance(node, list):
            node = node[0]
        assert MASK == node


class TestCache:
    """Redacted forms of repeated strings are cached, within bounds."""

    def test_repeated_string_is_cached(self) -> None:
        """A string seen once is answered from the cache afterwards."""
        redactor = ValueRedactor()
        text = "user logged in with Bearer abc123XYZ"
        redactor.process(make_record(text))
        assert {text: f"user logged in with Bearer {MASK}"} == redactor._cache

    def test_long_strings_are_not_cached(self) -> None:
        """Strings above the length limit are scanned each time, never cached."""
        redactor = ValueRedactor()
        redactor.process(make_record("x " * redact_module.MAX_CACHED_LENGTH))
        assert {} == redactor._cache

    def test_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """More distinct strings than the limit never grow the cache past it."""
        monkeypatch.setattr(redact_module, "TEXT_CACHE_LIMIT", 8)
        redactor = ValueRedactor()
        for index in range(50):
            redactor.process(make_record(f"message number {index}"))
        assert len(redactor._cache) <= 8

    def test_cache_is_bounded_by_characters(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The cached strings never hold more characters than the budget."""
        monkeypatch.setattr(redact_module, "TEXT_CACHE_CHARS", 100)
        redactor = ValueRedactor()
        for index in range(20):
            redactor.process(make_record(f"a fairly long log message {index:04}"))
        assert sum(map(len, redactor._cache)) <= 100

    def test_short_strings_skip_the_cache(self) -> None:
        """Strings shorter than any secret are not even looked up."""
        redactor = ValueRedactor()
        redactor.process(make_record("ok", user="ann"))
        assert {} == redactor._cache


class TestHelpers:
    """The Luhn check and the integer card test."""

    @pytest.mark.parametrize(
        ("digits", "valid"),
        [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True)],
    )
    def test_luhn(self, digits: str, valid: bool) -> None:
        """Known valid and invalid numbers."""
        assert valid == luhn_valid(digits)

    @pytest.mark.parametrize(
        ("value", "card"),
        [
            (4111111111111111, True),
            (1234, False),
            (10**19 + 7, False),
            (1700000000000000000, False),
        ],
    )
    def test_card_int(self, value: int, card: bool) -> None:
        """Only 13-19 digit Luhn-valid integers starting 2-6 are cards."""
        assert card == card_int(value)


class TestHostileInput:
    """Long or adversarial strings are scanned in reasonable time."""

    @pytest.mark.parametrize(
        "text",
        [
            "1 " * 20000,
            "4" * 50000,
            "4111-" * 10000,
            "a://" * 10000,
            "?a=" * 10000,
            "-----BEGIN PRIVATE KEY-----" * 2000,
            "Bearer " * 10000,
            "eyJa." * 10000,
            "_" + "a" * 50000,
            "x" * 100000,
        ],
    )
    def test_scan_is_fast(self, text: str) -> None:
        """Each hostile string is cleaned in well under a second."""
        start = time.perf_counter()
        ValueRedactor().process(make_record(text))
        assert time.perf_counter() - start < 1.0


class TestPluginShape:
    """The redactor follows the plugin conventions the loader relies on."""

    def test_class_attributes(self) -> None:
        """Name, kind, API version, in-place flag and config model are declared."""
        assert ("redact_values", "redactor", PLUGIN_API_VERSION, True, ValueRedactorConfig) == (
            ValueRedactor.name,
            ValueRedactor.kind,
            ValueRedactor.fapilog_api_version,
            ValueRedactor.in_place,
            ValueRedactor.config_model,
        )

    def test_protocols(self) -> None:
        """It is a ``Redactor`` and a ``BatchProcessor``."""
        redactor = ValueRedactor()
        assert isinstance(redactor, Redactor)
        assert isinstance(redactor, BatchProcessor)

    def test_process_batch(self) -> None:
        """``process_batch`` cleans every record and returns the same list."""
        records = [make_record("Bearer abc123XYZ"), make_record("hello world")]
        result = ValueRedactor().process_batch(records)
        assert records is result
        assert [f"Bearer {MASK}", "hello world"] == [r.body for r in result]
