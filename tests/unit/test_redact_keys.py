"""Tests for the ``redact_keys`` redactor: values under keys that name secrets are masked."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from pydantic import ValidationError

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.processors import redact as redact_module
from fapilog_otel.processors._sensitive_keys import key_words
from fapilog_otel.processors.redact import KeyRedactor, KeyRedactorConfig
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.typing import PLUGIN_API_VERSION, BatchProcessor, Redactor

MASK = "[REDACTED]"


def make_record(body: Any = "m", **attributes: Any) -> LogRecord:
    return LogRecord(
        timestamp=1,
        scope=Scope("s"),
        resource=Resource.get_empty(),
        body=body,
        attributes=attributes,
    )


def redact(attributes: dict[str, Any], **config: Any) -> dict[str, Any]:
    """The attributes after a redactor with ``config`` processed a record holding them."""
    record = make_record()
    record.attributes = attributes
    return KeyRedactor(KeyRedactorConfig(**config)).process(record).attributes


class TestKeyWords:
    """Keys are split into lower-case words on separators and camelCase boundaries."""

    @pytest.mark.parametrize(
        ("key", "words"),
        [
            ("X-Api-Key", ("x", "api", "key")),
            ("userPassword", ("user", "password")),
            ("APIKey", ("api", "key")),
            ("api_key", ("api", "key")),
            ("http.request.header.authorization", ("http", "request", "header", "authorization")),
            ("sessionID", ("session", "id")),
            ("oauth2_token", ("oauth", "2", "token")),
            ("--", ()),
        ],
    )
    def test_split(self, key: str, words: tuple[str, ...]) -> None:
        """Each key gives the words documented for it."""
        assert words == key_words(key)


class TestBuiltinKeys:
    """The built-in words, head words and phrases decide which keys are masked."""

    @pytest.mark.parametrize(
        "key",
        [
            "password",
            "PASSWORD",
            "userPassword",
            "db_passwd",
            "pwd",
            "passphrase",
            "client_secret",
            "secret",
            "token",
            "access_token",
            "refreshToken",
            "id_token",
            "Authorization",
            "http.request.header.authorization",
            "auth",
            "X-Auth-Token",
            "cookie",
            "Set-Cookie",
            "session",
            "user_session",
            "session_id",
            "sessionId",
            "sessionid",
            "JSESSIONID",
            "credentials",
            "apikey",
            "api_key",
            "X-Api-Key",
            "APIKey",
            "access_key",
            "aws_secret_access_key",
            "private_key",
            "privateKey",
            "jwt",
            "bearer",
            "otp",
            "sms_otp",
            "pin",
            "card_pin",
            "pin_code",
            "card_number",
            "cvv",
            "csrf",
            "token_count",
            "auth_method",
        ],
    )
    def test_sensitive_key_is_masked(self, key: str) -> None:
        """A key naming a secret has its value replaced by the mask."""
        assert {key: MASK} == redact({key: "s3cr3t-value"})

    @pytest.mark.parametrize(
        "key",
        [
            "author",
            "authored_by",
            "authority",
            "oauth_provider",
            "tokens",
            "max_tokens",
            "prompt_tokens",
            "tokens_used",
            "session_count",
            "session_duration",
            "otp_sent",
            "pin_count",
            "spinner",
            "cache_key",
            "partition_key",
            "public_key",
            "key",
            "keyboard",
            "monkey",
            "pass",
            "passenger",
            "secretary_name",
            "user",
            "order_id",
        ],
    )
    def test_harmless_key_is_kept(self, key: str) -> None:
        """A key that merely resembles a sensitive word keeps its value."""
        assert {key: "value"} == redact({key: "value"})

    def test_every_value_type_is_masked(self) -> None:
        """Numbers, None, bytes, lists and dicts under a sensitive key are masked whole."""
        attributes = {
            "pin": 1234,
            "token": None,
            "secret": b"raw",
            "credentials": ["a", "b"],
            "auth": {"user": "ann", "scheme": "basic"},
        }
        assert dict.fromkeys(attributes, MASK) == redact(attributes)


class TestNesting:
    """Dicts, lists and tuples are scanned at any depth; a structured body too."""

    def test_nested_dict(self) -> None:
        """A sensitive key inside a nested dict is masked, its neighbours kept."""
        attributes = {"request": {"headers": {"Authorization": "Bearer x", "Accept": "*/*"}}}
        expected = {"request": {"headers": {"Authorization": MASK, "Accept": "*/*"}}}
        assert expected == redact(attributes)

    def test_dicts_in_lists_and_tuples(self) -> None:
        """Dicts inside lists and tuples are scanned; the container type is kept."""
        attributes = {
            "users": [{"name": "ann", "password": "x"}, {"name": "bob"}],
            "pairs": ({"token": "t"}, "plain"),
        }
        expected = {
            "users": [{"name": "ann", "password": MASK}, {"name": "bob"}],
            "pairs": ({"token": MASK}, "plain"),
        }
        assert expected == redact(attributes)

    def test_sensitive_key_masks_a_whole_container(self) -> None:
        """A dict under a sensitive key is replaced whole, not scanned."""
        assert {"credentials": MASK} == redact({"credentials": {"user": "ann", "pw": "x"}})

    def test_structured_body(self) -> None:
        """A dict body is scanned like the attributes."""
        record = make_record(body={"event": "login", "password": "x", "meta": [{"jwt": "e"}]})
        KeyRedactor().process(record)
        assert {"event": "login", "password": MASK, "meta": [{"jwt": MASK}]} == record.body

    def test_string_body_is_left_alone(self) -> None:
        """A string body has no keys; it is the value redactor's business."""
        record = make_record(body="password=x")
        assert "password=x" == KeyRedactor().process(record).body

    def test_shared_nested_dict_is_copied_not_changed(self) -> None:
        """A nested dict that needs masking is replaced by a copy; the original is untouched."""
        shared = {"token": "t", "name": "ann"}
        record = make_record(ctx=shared)
        KeyRedactor().process(record)
        assert {"token": MASK, "name": "ann"} == record.attributes["ctx"]
        assert {"token": "t", "name": "ann"} == shared

    def test_unchanged_containers_are_not_copied(self) -> None:
        """Containers without anything to mask stay the very same objects."""
        nested = {"a": [1, {"b": 2}]}
        record = make_record(ctx=nested)
        KeyRedactor().process(record)
        assert nested is record.attributes["ctx"]

    def test_depth_cut_masks_deeper_values(self) -> None:
        """Nesting beyond the cut is masked rather than scanned (fail closed)."""
        deep: Any = {"password": "x"}
        for _ in range(redact_module.DEPTH_CUT + 5):
            deep = {"d": deep}
        record = make_record(deep=deep)
        KeyRedactor().process(record)
        node = record.attributes["deep"]
        while isinstance(node, dict):
            node = node["d"]
        assert MASK == node

    def test_non_string_keys(self) -> None:
        """Non-string dict keys (from records that were not frozen) are judged by str()."""
        record = make_record(ctx={1: "one", "token": "t"})
        KeyRedactor().process(record)
        assert {1: "one", "token": MASK} == record.attributes["ctx"]


class TestConfiguredKeys:
    """``keys`` adds names and exact dotted paths; ``allow_keys`` exempts names."""

    def test_plain_name_matches_as_words(self) -> None:
        """A name without dots masks every key holding its words, in any case."""
        attributes = {"ssn": "1", "user_ssn": "2", "SSN": "3", "lesson": "kept"}
        expected = {"ssn": MASK, "user_ssn": MASK, "SSN": MASK, "lesson": "kept"}
        assert expected == redact(attributes, keys=["ssn"])

    def test_multi_word_name(self) -> None:
        """A multi-word name matches its words in a row, whatever the separators."""
        attributes = {"cardHolder": "ann", "holder_card": "kept"}
        expected = {"cardHolder": MASK, "holder_card": "kept"}
        assert expected == redact(attributes, keys=["card_holder"])

    def test_dotted_path(self) -> None:
        """``user.ssn`` masks ``ssn`` under attribute ``user``, nowhere else."""
        attributes = {
            "user": {"ssn": "1", "name": "ann"},
            "other": {"ssn": "kept"},
            "ssn": "kept too",
        }
        expected = {
            "user": {"ssn": MASK, "name": "ann"},
            "other": {"ssn": "kept"},
            "ssn": "kept too",
        }
        assert expected == redact(attributes, keys=["user.ssn"])

    def test_deep_path_is_case_insensitive(self) -> None:
        """``payment.card.number`` follows three keys, case-insensitively."""
        attributes = {"Payment": {"CARD": {"Number": "4111", "brand": "visa"}}}
        expected = {"Payment": {"CARD": {"Number": MASK, "brand": "visa"}}}
        assert expected == redact(attributes, keys=["payment.card.number"])

    def test_flat_dotted_attribute(self) -> None:
        """An attribute literally named ``user.ssn`` matches the path ``user.ssn``."""
        assert {"user.ssn": MASK} == redact({"user.ssn": "1"}, keys=["user.ssn"])

    def test_partly_dotted_attribute(self) -> None:
        """``payment.card`` holding ``{"number": ...}`` matches ``payment.card.number``."""
        attributes = {"payment.card": {"number": "1", "brand": "visa"}}
        expected = {"payment.card": {"number": MASK, "brand": "visa"}}
        assert expected == redact(attributes, keys=["payment.card.number"])

    def test_path_looks_through_lists(self) -> None:
        """Lists along a path are looked through."""
        attributes = {"users": [{"ssn": "1"}, {"ssn": "2", "id": 3}]}
        expected = {"users": [{"ssn": MASK}, {"ssn": MASK, "id": 3}]}
        assert expected == redact(attributes, keys=["users.ssn"])

    def test_path_in_structured_body(self) -> None:
        """Paths apply from the top of a structured body too."""
        record = make_record(body={"user": {"ssn": "1"}})
        KeyRedactor(KeyRedactorConfig(keys=["user.ssn"])).process(record)
        assert {"user": {"ssn": MASK}} == record.body

    def test_allow_keys(self) -> None:
        """An allowed key keeps its value although a built-in word matches it."""
        attributes = {"token_count": 5, "Token": "t"}
        assert {"token_count": 5, "Token": MASK} == redact(attributes, allow_keys=["TOKEN_COUNT"])

    def test_allowed_key_is_still_scanned_inside(self) -> None:
        """An allowed key's nested values are still scanned, and paths still apply."""
        attributes = {"session": {"id": "s", "password": "p", "ssn": "1"}}
        expected = {"session": {"id": "s", "password": MASK, "ssn": MASK}}
        assert expected == redact(attributes, allow_keys=["session"], keys=["session.ssn"])

    def test_custom_mask(self) -> None:
        """The configured mask replaces values."""
        assert {"password": "***"} == redact({"password": "x"}, mask="***")

    @pytest.mark.parametrize("key", ["user..ssn", ".ssn", "user.", "", "  "])
    def test_malformed_names_are_refused(self, key: str) -> None:
        """An empty name or a path with an empty part is a configuration error."""
        with pytest.raises(ConfigurationError):
            KeyRedactor(KeyRedactorConfig(keys=[key]))


class TestPluginShape:
    """The redactor follows the plugin conventions the loader relies on."""

    def test_class_attributes(self) -> None:
        """Name, kind, API version, in-place flag and config model are declared."""
        assert ("redact_keys", "redactor", PLUGIN_API_VERSION, True, KeyRedactorConfig) == (
            KeyRedactor.name,
            KeyRedactor.kind,
            KeyRedactor.fapilog_api_version,
            KeyRedactor.in_place,
            KeyRedactor.config_model,
        )

    def test_protocols(self) -> None:
        """It is a ``Redactor`` and a ``BatchProcessor``."""
        redactor = KeyRedactor()
        assert isinstance(redactor, Redactor)
        assert isinstance(redactor, BatchProcessor)

    def test_config_rejects_unknown_settings(self) -> None:
        """Unknown settings are refused."""
        with pytest.raises(ValidationError):
            KeyRedactorConfig(unknown=1)  # type: ignore[call-arg]

    def test_process_changes_the_record_in_place(self) -> None:
        """``process`` returns the same record and attribute dict."""
        record = make_record(password="x")
        attributes = record.attributes
        result = KeyRedactor().process(record)
        assert record is result
        assert attributes is result.attributes

    def test_process_batch(self) -> None:
        """``process_batch`` cleans every record and returns the same list."""
        records = [make_record(token="a"), make_record(user="ann")]
        result = KeyRedactor().process_batch(records)
        assert records is result
        assert [{"token": MASK}, {"user": "ann"}] == [r.attributes for r in result]


class TestDecisionCache:
    """Decisions are cached per key string, within a bound."""

    def test_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """More distinct keys than the limit never grow the cache past it."""
        monkeypatch.setattr(redact_module, "KEY_CACHE_LIMIT", 8)
        redactor = KeyRedactor()
        for index in range(50):
            redactor.process(make_record(**{f"field_{index}": index, "password": "x"}))
        assert len(redactor._plain) <= 8

    def test_cached_decision_is_reused(self) -> None:
        """The same key is judged once and gives the same answer afterwards."""
        redactor = KeyRedactor()
        first = redactor.process(make_record(apiKey="a", name="n")).attributes
        second = redactor.process(make_record(apiKey="b", name="m")).attributes
        assert [{"apiKey": MASK, "name": "n"}, {"apiKey": MASK, "name": "m"}] == [first, second]
        assert {"apiKey": True, "name": False} == redactor._plain
