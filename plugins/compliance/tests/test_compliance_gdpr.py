"""The GDPR profile: personal identifiers replaced by stable keyed pseudonyms; no key, no
profile; the key never shows."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr
from typing import Any

import fapilog_otel as fo
import pytest
from compliance_helpers import KEY, OTHER_KEY, exported, record, serialized
from fapilog_otel.testing import ProcessorConformance

from fapilog_compliance.gdpr import (
    PSEUDONYM_KEY_VARIABLE,
    GdprConfig,
    Pseudonymiser,
)
from fapilog_compliance.profiles import gdpr

PSEUDONYM = re.compile(r"pseudo:(email|phone|ip|id):[0-9a-f]{16}")


def clean_environment() -> dict[str, str]:
    """The test process's environment without any ``FAPILOG_*`` or ``OTEL_*`` variable."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("FAPILOG_", "OTEL_"))
    }


def pseudonymiser(key: str = KEY, **settings: Any) -> Pseudonymiser:
    """A pseudonymiser with ``key`` and ``settings``."""
    return Pseudonymiser(GdprConfig.model_validate({"key": key, **settings}))


def clean(value: Any, **settings: Any) -> Any:
    """What a pseudonymiser with the test key makes of ``value`` logged as the body."""
    return pseudonymiser(**settings).process(record(value)).body


def expected_pseudonym(kind: str, canonical: str, key: str = KEY) -> str:
    """The pseudonym the documentation promises, computed independently."""
    digest = hmac.new(key.encode(), f"{kind}:{canonical}".encode(), hashlib.sha256)
    return f"pseudo:{kind}:{digest.hexdigest()[:16]}"


class TestPseudonyms:
    @pytest.mark.parametrize(
        ("text", "kind", "canonical"),
        [
            ("Jane.Doe@Example.com", "email", "jane.doe@example.com"),
            ("192.168.001.010", "ip", "192.168.1.10"),
            ("2001:DB8:0:0::1", "ip", "2001:db8::1"),
            ("fe80::1", "ip", "fe80::1"),
            ("::ffff:192.0.2.1", "ip", "::ffff:c000:201"),
            ("(555) 123-4567", "phone", "+15551234567"),
            ("+1 555 123 4567", "phone", "+15551234567"),
            ("1-555-123-4567", "phone", "+15551234567"),
            ("+44 20 7946 0958", "phone", "+442079460958"),
        ],
    )
    def test_documented_form(self, text: str, kind: str, canonical: str) -> None:
        """``pseudo:<kind>:`` and 16 hex digits of HMAC-SHA256 of ``<kind>:<canonical>``."""
        assert f"seen {expected_pseudonym(kind, canonical)} here" == clean(f"seen {text} here")

    def test_several_in_one_text(self) -> None:
        """Each identifier is replaced; the words and other numbers around them stay."""
        cleaned = clean("user a@b.co from 10.0.0.1 called 555-123-4567 about order 42")
        assert re.fullmatch(
            r"user pseudo:email:\w{16} from pseudo:ip:\w{16} called pseudo:phone:\w{16}"
            r" about order 42",
            cleaned,
        )

    @pytest.mark.parametrize(
        "text",
        [
            "order 42 at 12:30:45 took 1.5 s",
            "version 1.2.3 of std::vector",
            "MAC 00:1a:2b:3c:4d:5e",
            "oid 1.3.6.1.4.1.343",
            "user@localhost",
            "5551234567",
            "",
        ],
    )
    def test_kept(self, text: str) -> None:
        """Text without a recognisable identifier stays as logged."""
        assert text == clean(text)

    def test_same_identifier_same_pseudonym(self) -> None:
        """The same address in other records, spelt in another case, gets one pseudonym."""
        processor = pseudonymiser()
        first = processor.process(record("a Jane@Example.com")).body
        second = processor.process(record("b", to="jane@example.COM")).attributes["to"]
        assert first[2:] == second

    def test_other_key_other_pseudonym(self) -> None:
        """A different key gives a different pseudonym for the same identifier."""
        assert clean("jane@example.com") != clean("jane@example.com", key=OTHER_KEY)

    def test_pseudonymise(self) -> None:
        """``pseudonymise`` gives what the profile writes, to look a person's records up."""
        processor = pseudonymiser()
        assert processor.pseudonymise("Jane@Example.com") == clean("jane@example.com")
        assert expected_pseudonym("id", "42") == processor.pseudonymise("42")
        assert processor.pseudonymise("pseudo:id:0123456789abcdef") == (
            "pseudo:id:0123456789abcdef"
        )


class TestConfiguredKeys:
    def test_values_under_keys(self) -> None:
        """Values under configured keys are pseudonymised, at any depth and spelling."""
        processor = pseudonymiser(keys=["user_id", "customer"])
        cleaned = processor.process(
            record(
                "event",
                user_id=42,
                actor={"userId": "u-7", "role": "admin"},
                customer={"email": "a@b.co", "tags": ["x", None, True]},
                other=42,
            )
        ).attributes
        assert {
            "user_id": expected_pseudonym("id", "42"),
            "actor": {"userId": expected_pseudonym("id", "u-7"), "role": "admin"},
            "customer": {
                "email": expected_pseudonym("email", "a@b.co"),
                "tags": [expected_pseudonym("id", "x"), None, True],
            },
            "other": 42,
        } == cleaned

    def test_keys_from_a_variable(self) -> None:
        """``FAPILOG_PLUGINS__GDPR__KEYS=user_id,account`` names two keys."""
        settings = fo.Settings(compliance=["gdpr"], plugins={"gdpr": {"key": KEY, "keys": "a,b"}})
        (exported_record,) = exported(settings, lambda log: log.info("x", a=1, b=2, c=3))
        assert [True, True, False] == [
            bool(PSEUDONYM.fullmatch(str(v))) for v in exported_record.attributes.values()
        ]


class TestTheKey:
    def test_missing_key_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a key the container is refused, naming the variable to set."""
        monkeypatch.delenv(PSEUDONYM_KEY_VARIABLE, raising=False)
        with pytest.raises(fo.ConfigurationError, match=PSEUDONYM_KEY_VARIABLE):
            fo.Container(fo.Settings(compliance=["gdpr"]))

    def test_empty_key_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An empty variable is no key."""
        monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, "")
        with pytest.raises(fo.ConfigurationError, match=PSEUDONYM_KEY_VARIABLE):
            Pseudonymiser()

    @pytest.mark.parametrize("short", ["", "x" * 15, "\u00e9" * 7])
    def test_short_key_refused(self, monkeypatch: pytest.MonkeyPatch, short: str) -> None:
        """A key under 16 bytes is refused; the message never shows it."""
        monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, short or "short-key")
        with pytest.raises(fo.ConfigurationError, match="at least 16") as caught:
            fo.Container(fo.Settings(compliance=["gdpr"]))
        assert (short or "short-key") not in str(caught.value)

    def test_short_key_in_settings_refused(self) -> None:
        """A short key in the settings is refused, naming where it came from."""
        with pytest.raises(fo.ConfigurationError, match=r"plugins\['gdpr'\]\['key'\]"):
            pseudonymiser(key="too-short")

    def test_key_from_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``FAPILOG_PSEUDONYM_KEY`` is the key when the settings give none."""
        monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, KEY)
        assert expected_pseudonym("id", "7") == Pseudonymiser().pseudonymise("7")

    def test_settings_win_over_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A key in the settings is used rather than the variable's."""
        monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, OTHER_KEY)
        assert expected_pseudonym("id", "7") == pseudonymiser().pseudonymise("7")

    def test_key_never_shows(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The key is in no repr, statistics, diagnostics or exported record."""
        monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, KEY)
        settings = fo.Settings(compliance=["gdpr"], plugins={"gdpr": {"keys": ["user"]}})
        profile = gdpr(settings)
        (processor,) = profile.processors
        shown = [repr(profile), repr(processor), repr(processor.config), str(vars(processor))]
        stderr = io.StringIO()
        exporter = fo.exporters.InMemoryExporter()
        with redirect_stderr(stderr), fo.Container(settings, exporters=[exporter]) as container:
            container.get_logger("k").info("user a@b.co", user=KEY)
            shown.append(str(container.stats()))
        shown += [stderr.getvalue(), serialized(list(exporter.records))]
        assert [] == [text for text in shown if KEY in text]


class TestAcrossContainersAndProcesses:
    def test_two_containers(self) -> None:
        """Two containers with the same key write the same pseudonyms."""
        settings = fo.Settings(compliance=["gdpr"], plugins={"gdpr": {"key": KEY}}, redactors=[])
        first, second = (
            exported(settings, lambda log: log.info("from 203.0.113.9"))[0].body for _ in range(2)
        )
        assert first == second == f"from {expected_pseudonym('ip', '203.0.113.9')}"

    def test_another_process(self) -> None:
        """A fresh interpreter with the key in the variable writes the same pseudonym."""
        code = (
            "import fapilog_otel as fo\n"
            "from fapilog_otel.exporters import InMemoryExporter\n"
            "m = InMemoryExporter()\n"
            "with fo.Container(fo.Settings(compliance=['gdpr']), exporters=[m]) as c:\n"
            "    c.get_logger('p').info('mail jane@example.com')\n"
            "print(m.records[0].body)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**clean_environment(), PSEUDONYM_KEY_VARIABLE: KEY},
            check=True,
        )
        assert clean("mail jane@example.com") == result.stdout.strip()


class TestGdprConformance(ProcessorConformance):
    """The plugin conformance kit passes."""

    def make_processor(self) -> Pseudonymiser:
        return pseudonymiser(keys=["level1"])
