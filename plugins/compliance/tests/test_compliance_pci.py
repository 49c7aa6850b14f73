"""The PCI-DSS profile: card numbers truncated, sensitive authentication data removed,
everything else kept."""

from __future__ import annotations

import decimal
from typing import Any

import fapilog_otel as fo
import pytest
from compliance_helpers import exported, record
from fapilog_otel.testing import ProcessorConformance

from fapilog_compliance.pci import (
    PciConfig,
    PciRedactor,
    is_pan,
    luhn_valid,
    truncate_pan,
)

VISA = "4111111111111111"
MASTERCARD = "5500000000000004"
AMEX = "378282246310005"
VISA_13 = "4222222222222"
UNIONPAY_19 = "6212345678901232"  # 16 digits
DISCOVER_19 = "6011000990139424"


def clean(value: Any) -> Any:
    """What the PCI redactor makes of ``value`` logged as the body."""
    return PciRedactor().process(record(value)).body


def clean_attributes(**attributes: Any) -> dict[str, Any]:
    """What the PCI redactor makes of ``attributes``."""
    return PciRedactor().process(record("event", **attributes)).attributes


class TestTruncatePan:
    @pytest.mark.parametrize(
        ("digits", "expected"),
        [
            (VISA, "411111******1111"),
            (AMEX, "37828******0005"),
            ("30569309025904", "3056******5904"),
            (VISA_13, "422******2222"),
            ("6011000000000000004", "601100*********0004"),
        ],
    )
    def test_truncated_form(self, digits: str, expected: str) -> None:
        """At most the first six and the last four digits show; at least six are masked."""
        assert expected == truncate_pan(digits)
        assert expected.count("*") >= 6
        assert len(digits) == len(expected)


class TestIsPan:
    def test_luhn(self) -> None:
        """The Luhn check accepts test card numbers and refuses a changed digit."""
        assert (True, True, False) == (
            luhn_valid(VISA),
            luhn_valid(AMEX),
            luhn_valid("4111111111111112"),
        )

    @pytest.mark.parametrize(
        ("digits", "expected"),
        [
            (VISA, True),
            (VISA_13, True),
            ("79927398713", False),  # Luhn-valid, 11 digits
            ("1700000000008", False),  # Luhn-valid, starts with 1 (a millisecond time)
            ("7" + "0" * 14 + "7", False),  # no card network issues 7
            ("4" + "0" * 18 + "4", False),  # 20 digits
        ],
    )
    def test_shape(self, digits: str, expected: bool) -> None:
        """13 to 19 digits, first digit 2 to 6, Luhn-valid."""
        assert expected == is_pan(digits)


class TestCardNumbersInText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"paid with {VISA} today", "paid with 411111******1111 today"),
            ("paid with 4111 1111 1111 1111.", "paid with 411111******1111."),
            ("4111-1111-1111-1111", "411111******1111"),
            ("4111.1111.1111.1111", "411111******1111"),
            ("amex 3782 822463 10005", "amex 37828******0005"),
            ("amex 3782-822463-10005!", "amex 37828******0005!"),
            ("odd 41 11 1111 1111 1111", "odd 411111******1111"),
            (f"pan{VISA}", "pan411111******1111"),
            (f"{VISA}x", "411111******1111x"),
            (f"({VISA_13})", "(422******2222)"),
            ("6011 0009 9013 9424 3", "601100******9424 3"),
        ],
    )
    def test_masked(self, text: str, expected: str) -> None:
        """Contiguous or grouped by one kind of separator, the number is truncated."""
        assert expected == clean(text)

    def test_every_card_of_a_text(self) -> None:
        """Several numbers in one text are each truncated; the words between stay."""
        assert "a 411111******1111 b 550000******0004 c" == clean(
            f"a {VISA} b 5500-0000-0000-0004 c"
        )

    @pytest.mark.parametrize(
        "text",
        [
            "order 4111111111111112 shipped",  # Luhn-invalid
            "at 1700000000000 ms",  # a timestamp
            "at 1700000000000000000 ns",
            "id 41111111111111110000",  # 20 digits: no card
            "2024-01-15 10.30.45.123 done",
            "4111 1111-1111.1111",  # three kinds of separator
            "version 4.1.1.1 build 1111",
            "ip 10.0.0.1 port 8080",
            "order 12345 of 2024",
            "",
            "no digits at all",
        ],
    )
    def test_other_numbers_kept(self, text: str) -> None:
        """Numbers that are no card number stay as logged."""
        assert text == clean(text)

    def test_neighbours_kept(self) -> None:
        """Only the card number changes; an order id and an amount beside it stay."""
        assert "order 123456 paid 99.95 by 411111******1111 at 1700000000000" == clean(
            f"order 123456 paid 99.95 by {VISA} at 1700000000000"
        )


class TestCardNumbersAsNumbers:
    @pytest.mark.parametrize("value", [int(VISA), -int(VISA), float(VISA)])
    def test_number_masked(self, value: float) -> None:
        """An integer or a whole float that is a card number becomes its truncated text."""
        assert {"pan": "411111******1111"} == clean_attributes(pan=value)

    @pytest.mark.parametrize(
        "value", [4111111111111112, 1700000000000, 42, 2**70, 0.5, True, float("nan")]
    )
    def test_other_numbers_kept(self, value: float) -> None:
        """Other numbers (and booleans, NaN) are kept as they are."""
        cleaned = clean_attributes(n=value)["n"]
        assert value is cleaned or (value != value and cleaned != cleaned)

    def test_decimal(self) -> None:
        """A Decimal (written as its text) is judged as its text."""
        assert {"pan": "411111******1111"} == clean_attributes(pan=decimal.Decimal(VISA))


class TestWhereCardNumbersAre:
    def test_nested_values_are_copied_not_changed(self) -> None:
        """A card deep in dicts and lists is masked in a copy; the logged object is intact."""
        payload = {"items": [{"card": VISA, "qty": 1}, (VISA, 7)], "n": 3}
        cleaned = clean_attributes(payload=payload)["payload"]
        assert {
            "items": [{"card": "411111******1111", "qty": 1}, ("411111******1111", 7)],
            "n": 3,
        } == cleaned
        assert VISA == payload["items"][0]["card"]  # type: ignore[index]

    def test_structured_body(self) -> None:
        """A dict body is walked like the attributes."""
        assert {"card": "411111******1111", "ok": True} == clean({"card": VISA, "ok": True})

    def test_bytes(self) -> None:
        """Bytes are scanned as UTF-8 and stay bytes."""
        assert b"card 411111******1111" == clean(f"card {VISA}".encode())

    def test_exception_attributes(self) -> None:
        """The exception message and stack trace of a logged exception are cleaned."""

        def log(logger: fo.Logger) -> None:
            try:
                raise ValueError(f"card {VISA} declined")
            except ValueError:
                logger.exception("payment failed")

        (exported_record,) = exported(fo.Settings(compliance=["pci"], redactors=[]), log)
        attributes = exported_record.attributes
        assert "card 411111******1111 declined" == attributes["exception.message"]
        assert "ValueError: card 411111******1111 declined" in attributes["exception.stacktrace"]
        assert VISA not in attributes["exception.stacktrace"]

    def test_keys_kept(self) -> None:
        """Attribute names are never changed, even when they hold digits."""
        assert {VISA: "411111******1111"} == clean_attributes(**{VISA: VISA})


class TestSensitiveAuthenticationData:
    @pytest.mark.parametrize(
        "key",
        [
            "cvv",
            "CVV",
            "cvv2",
            "CVC2",
            "cvc",
            "card_cvv",
            "cardCvc",
            "cid",
            "card.cid",
            "card_verification",
            "Card-Verification-Value",
            "cardVerificationCode",
            "security_code",
            "securityCode",
            "SECURITY-CODE",
            "card_security_code",
            "cvn",
            "CAV2",
            "cvd",
        ],
    )
    def test_verification_code(self, key: str) -> None:
        """The value under a card verification code's key is replaced whole."""
        assert {key: "[REDACTED:cvv]"} == clean_attributes(**{key: "123"})

    @pytest.mark.parametrize(
        "key",
        [
            "track1",
            "Track2",
            "track_3",
            "track_data",
            "trackData",
            "magstripe",
            "mag_stripe",
            "magnetic_stripe",
        ],
    )
    def test_track_keys(self, key: str) -> None:
        """The value under a track data key is replaced whole."""
        assert {key: "[REDACTED:track]"} == clean_attributes(**{key: "anything"})

    @pytest.mark.parametrize(
        "key", ["pin", "card_pin", "pin_block", "pinBlock", "pin_code", "pin_number"]
    )
    def test_pin(self, key: str) -> None:
        """The value under a PIN's key is replaced whole."""
        assert {key: "[REDACTED:pin]"} == clean_attributes(**{key: 1234})

    def test_whole_value_whatever_it_is(self) -> None:
        """A number, a dict or a list under such a key is replaced whole, at any depth."""
        assert {"card": {"cvv": "[REDACTED:cvv]", "track2": "[REDACTED:track]", "n": 7}} == (
            clean_attributes(card={"cvv": 123, "track2": {"raw": "x"}, "n": 7})
        )

    @pytest.mark.parametrize(
        "key", ["request_cid", "pinned", "spin", "tracking", "track", "security", "code"]
    )
    def test_other_keys_kept(self, key: str) -> None:
        """Keys that only look alike keep their values."""
        assert {key: "123"} == clean_attributes(**{key: "123"})

    @pytest.mark.parametrize(
        "text",
        [
            f"%B{VISA}^DOE/JOHN^25121010000000000000000?",
            f"B{VISA}^DOE/JOHN^2512101000000",
            f";{VISA}=25121010000000000000?",
            f"{VISA}=2512101000000000",
            f"{VISA}D25121010000000000",
        ],
    )
    def test_track_data_in_text(self, text: str) -> None:
        """Track 1 and track 2 data inside text are replaced whole, the words kept."""
        assert "swiped [REDACTED:track] ok" == clean(f"swiped {text} ok")

    @pytest.mark.parametrize(
        "text",
        [
            ";[REDACTED]=2512101?",
            "%B[REDACTED]^DOE/JOHN^2512101000?",
            "[REDACTED]=25121010000",
            "[REDACTED]D25121010000",
        ],
    )
    def test_track_data_around_an_earlier_mask(self, text: str) -> None:
        """Track data whose card number ``redact_values`` masked first is removed whole."""
        assert "swiped [REDACTED:track] ok" == clean(f"swiped {text} ok")

    def test_earlier_mask_from_the_settings(self) -> None:
        """The profile recognises the mask ``redact_values`` is configured with."""
        settings = fo.Settings(compliance=["pci"], plugins={"redact_values": {"mask": "<card>"}})
        (exported_record,) = exported(
            settings, lambda log: log.info(f"swiped ;{VISA}=25121010000000? ok")
        )
        assert "swiped [REDACTED:track] ok" == exported_record.body

    @pytest.mark.parametrize(
        "text", ["ids 1234567890123=12345678", "token=[REDACTED]&page=2", "[REDACTED]=12"]
    )
    def test_track_like_text_kept(self, text: str) -> None:
        """Digits after ``=`` without sentinels and without a card number (or a masked one)
        stay."""
        assert text == clean(text)


class TestSettings:
    def test_more_keys(self) -> None:
        """Keys configured in ``keys`` have their whole value masked."""
        redactor = PciRedactor(PciConfig(keys=["verification_value"]))
        cleaned = redactor.process(record("event", **{"card.verificationValue": 1})).attributes
        assert {"card.verificationValue": "[REDACTED:sad]"} == cleaned

    def test_keys_from_a_variable(self) -> None:
        """A comma-separated string (as a variable gives it) is a list of keys."""
        assert ["a", "b_c"] == PciConfig.model_validate({"keys": "a, b_c"}).keys

    def test_unknown_setting_refused(self) -> None:
        """A misspelt setting fails the container, naming it."""
        with pytest.raises(fo.ConfigurationError, match="kyes"):
            fo.Container(fo.Settings(compliance=["pci"], plugins={"pci": {"kyes": ["x"]}}))

    def test_repr(self) -> None:
        """The repr names the class and its settings."""
        assert "PciRedactor(keys=['x'])" == repr(PciRedactor(PciConfig(keys=["x"])))


class TestThroughAContainer:
    def test_after_the_default_redactors(self) -> None:
        """``compliance=["pci"]`` adds the redactor after ``redact_keys``/``redact_values``."""
        settings = fo.Settings(compliance=["pci"], diagnostics=False)
        with fo.Container(settings, exporters=[fo.exporters.InMemoryExporter()]) as container:
            names = list(container.stats()["processors"])
        assert ["redact_keys", "redact_values", "pci"] == names

    def test_alone(self) -> None:
        """Without the default redactors the profile still truncates card numbers."""
        (exported_record,) = exported(
            fo.Settings(compliance=["pci"], redactors=[]),
            lambda log: log.info(f"paid with {VISA}", cvv=123, order=42),
        )
        assert ("paid with 411111******1111", {"cvv": "[REDACTED:cvv]", "order": 42}) == (
            exported_record.body,
            exported_record.attributes,
        )


class TestPciConformance(ProcessorConformance):
    """The plugin conformance kit passes."""

    def make_processor(self) -> PciRedactor:
        return PciRedactor()
