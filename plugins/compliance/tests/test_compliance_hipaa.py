"""The HIPAA profile: Safe Harbor identifiers masked where they can be recognised, the
rest of the record kept."""

from __future__ import annotations

from typing import Any

import fapilog_otel as fo
import pytest
from compliance_helpers import KEY, exported, record
from fapilog_otel.testing import ProcessorConformance

from fapilog_compliance.gdpr import GdprConfig, Pseudonymiser
from fapilog_compliance.hipaa import HipaaConfig, HipaaRedactor, mask_for


def clean(value: Any) -> Any:
    """What the HIPAA redactor makes of ``value`` logged as the body."""
    return HipaaRedactor().process(record(value)).body


def clean_attributes(**attributes: Any) -> dict[str, Any]:
    """What the HIPAA redactor makes of ``attributes``."""
    return HipaaRedactor().process(record("event", **attributes)).attributes


class TestInText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("mail jane.doe@example.com now", "mail [REDACTED:email] now"),
            ("<J.Doe+tag@mail.example.org>.", "<[REDACTED:email]>."),
            ("ssn 123-45-6789, ok", "ssn [REDACTED:ssn], ok"),
            ("ssn 123 45 6789", "ssn [REDACTED:ssn]"),
            ("call (555) 123-4567 now", "call [REDACTED:phone] now"),
            ("call 555.123.4567", "call [REDACTED:phone]"),
            ("call 1-555-123-4567", "call [REDACTED:phone]"),
            ("call +1 555 123 4567", "call [REDACTED:phone]"),
            ("call +44 20 7946 0958 today", "call [REDACTED:phone] today"),
            ("call +4915112345678", "call [REDACTED:phone]"),
            ("MRN: 12345678 seen", "MRN: [REDACTED:mrn] seen"),
            ("mrn#A1234", "mrn#[REDACTED:mrn]"),
            ("Medical record number 998877", "Medical record number [REDACTED:mrn]"),
            ("patient_id=P-1234&x=1", "patient_id=[REDACTED:mrn]&x=1"),
            ("SSN 123456789", "SSN [REDACTED:ssn]"),
            ("member id: XJ12345", "member id: [REDACTED:health_plan]"),
            ("policy no. 55-1234", "policy no. [REDACTED:health_plan]"),
            ("account number 0012345", "account number [REDACTED:account]"),
            ("DOB: 1980-01-02.", "DOB: [REDACTED:date]."),
            ("dob 01/02/1980 ok", "dob [REDACTED:date] ok"),
            ("born Jan 2, 1980", "born [REDACTED:date]"),
            ("born 2nd March 1980 in Ohio", "born [REDACTED:date] in Ohio"),
            ("SSN 000-12-3456", "SSN [REDACTED:ssn]"),
            ("date of birth: 2 January 1980", "date of birth: [REDACTED:date]"),
        ],
    )
    def test_masked(self, text: str, expected: str) -> None:
        """Identifiers with a shape, or after a label, are masked; the words around stay."""
        assert expected == clean(text)

    @pytest.mark.parametrize(
        "text",
        [
            "order 123-456 shipped 2024-01-15",
            "id 000-12-3456 is not issued",
            "id 666-12-3456 is not issued",
            "id 923-45-6789 is not issued",
            "id 123-00-6789 is not issued",
            "id 123-45-0000 is not issued",
            "mRNA-1273 dose",
            "MRN pending",
            "user@localhost wrote",
            "5551234567 is an order number",
            "version 1.2.3 at 10.0.0.1",
            "Jane Doe was admitted",
            "took 12 ms",
        ],
    )
    def test_kept(self, text: str) -> None:
        """Text without a recognisable identifier stays as logged."""
        assert text == clean(text)

    def test_gdpr_pseudonyms_are_masked(self) -> None:
        """A pseudonym of the gdpr profile is masked too, so the order of profiles does
        not matter."""
        pseudonym = Pseudonymiser(GdprConfig.model_validate({"key": KEY})).pseudonymise(
            "jane@example.com"
        )
        assert "from [REDACTED:email]" == clean(f"from {pseudonym}")


class TestUnderKeys:
    @pytest.mark.parametrize(
        ("key", "kind"),
        [
            ("first_name", "name"),
            ("lastName", "name"),
            ("FULL-NAME", "name"),
            ("surname", "name"),
            ("patient_name", "name"),
            ("patient.name", "name"),
            ("patient", "person"),
            ("insured_person", "person"),
            ("ssn", "ssn"),
            ("social_security_number", "ssn"),
            ("mrn", "mrn"),
            ("medical_record_number", "mrn"),
            ("patient_id", "mrn"),
            ("health_plan_id", "health_plan"),
            ("memberId", "health_plan"),
            ("beneficiary_number", "health_plan"),
            ("dob", "date"),
            ("date_of_birth", "date"),
            ("birthDate", "date"),
            ("discharge_date", "date"),
            ("email", "email"),
            ("e-mail", "email"),
            ("phone", "phone"),
            ("mobile", "phone"),
            ("fax", "fax"),
            ("address", "address"),
            ("home_address", "address"),
            ("street", "address"),
            ("city", "address"),
            ("zip", "address"),
            ("postal_code", "address"),
            ("device_id", "device"),
            ("serial_number", "device"),
            ("mac_address", "device"),
            ("account_number", "account"),
            ("iban", "account"),
            ("license_number", "license"),
            ("drivers_license", "license"),
            ("vin", "vehicle"),
            ("license_plate", "vehicle"),
            ("url", "url"),
            ("url.full", "url"),
            ("ip", "ip"),
            ("client_ip", "ip"),
            ("client.address", "ip"),
            ("network.peer.address", "ip"),
            ("X-Forwarded-For", "ip"),
            *[
                (key, kind)
                for kind, keys in {
                    "name": ["given_name", "family_name", "middle_name", "maiden_name"],
                    "mrn": ["chart_number"],
                    "health_plan": [
                        "subscriber_id",
                        "policy_number",
                        "insurance_id",
                        "group_number",
                        "medicare_id",
                        "medicaid_id",
                        "mbi",
                        "hicn",
                    ],
                    "date": ["birthday", "date_of_death", "admission_date"],
                    "email": ["e_mail"],
                    "phone": ["telephone", "cell_phone"],
                    "fax": ["fax_number"],
                    "address": [
                        "zip_code",
                        "postcode",
                        "county",
                        "mailing_address",
                        "address_line1",
                    ],
                    "device": ["device_serial", "udi", "imei"],
                    "account": ["account_id", "bank_account"],
                    "license": ["certificate_number"],
                    "vehicle": ["plate_number", "vehicle_id"],
                    "url": ["uri", "website", "homepage"],
                    "ip": ["ip_address", "remote_addr"],
                }.items()
                for key in keys
            ],
        ],
    )
    def test_masked_whole(self, key: str, kind: str) -> None:
        """The whole value under a known key is replaced by its kind's mask."""
        assert {key: mask_for(kind)} == clean_attributes(**{key: "anything 42"})

    @pytest.mark.parametrize(
        "key",
        ["name", "service.name", "server.address", "user_agent", "state", "status", "zipped"],
    )
    def test_other_keys_kept(self, key: str) -> None:
        """Keys that name no identifier keep their values."""
        assert {key: "value"} == clean_attributes(**{key: "value"})

    def test_person_context(self) -> None:
        """Under a key about a person, ``name`` and ``address`` are masked; other fields stay."""
        assert {
            "patient": {
                "name": "[REDACTED:name]",
                "contact": {"name": "[REDACTED:name]", "address": "[REDACTED:address]"},
                "age": 40,
                "ward": "B",
            },
            "name": "checkout",
        } == clean_attributes(
            patient={
                "name": "Jane Doe",
                "contact": {"name": "John Doe", "address": "1 Main St"},
                "age": 40,
                "ward": "B",
            },
            name="checkout",
        )

    def test_people_in_a_list(self) -> None:
        """A list under a key naming people: its texts masked, its dicts walked."""
        assert {"patients": ["[REDACTED:person]", {"name": "[REDACTED:name]", "bed": 4}]} == (
            clean_attributes(patients=["Jane Doe", {"name": "John Doe", "bed": 4}])
        )

    def test_whole_nested_value(self) -> None:
        """A dict under a known key is replaced whole."""
        assert {"address": "[REDACTED:address]"} == clean_attributes(
            address={"street": "1 Main St", "city": "Springfield"}
        )

    def test_none_is_masked_too(self) -> None:
        """The value under a known key is masked whatever it is."""
        assert {"ssn": "[REDACTED:ssn]", "mrn": "[REDACTED:mrn]"} == clean_attributes(
            ssn=123456789, mrn=None
        )

    def test_text_of_other_keys_is_scanned(self) -> None:
        """Other keys' texts, nested ones and exception text included, are scanned."""
        assert {
            "note": "reach [REDACTED:email]",
            "items": [{"memo": "SSN [REDACTED:ssn]"}],
            "exception.message": "no [REDACTED:phone]",
        } == clean_attributes(
            note="reach a@b.co",
            items=[{"memo": "SSN 123-45-6789"}],
            **{"exception.message": "no 555-123-4567"},
        )


class TestSettings:
    def test_more_keys(self) -> None:
        """Keys configured in ``keys`` are masked as ``[REDACTED:phi]``."""
        redactor = HipaaRedactor(HipaaConfig(keys=["pt_nm"]))
        cleaned = redactor.process(record("event", visit={"ptNm": "Jane"})).attributes
        assert {"visit": {"ptNm": "[REDACTED:phi]"}} == cleaned

    def test_settings_from_the_container(self) -> None:
        """``Settings.plugins["hipaa"]`` configures the profile."""
        (exported_record,) = exported(
            fo.Settings(compliance=["hipaa"], plugins={"hipaa": {"keys": "pt_nm"}}),
            lambda log: log.info("seen", pt_nm="Jane"),
        )
        assert {"pt_nm": "[REDACTED:phi]"} == exported_record.attributes

    def test_unknown_setting_refused(self) -> None:
        """A misspelt setting fails the container, naming it."""
        with pytest.raises(fo.ConfigurationError, match=r"hipaa.*kyes"):
            fo.Container(fo.Settings(compliance=["hipaa"], plugins={"hipaa": {"kyes": []}}))


class TestThroughAContainer:
    def test_a_record(self) -> None:
        """A record with several identifiers comes out with each masked, the rest kept."""
        (exported_record,) = exported(
            fo.Settings(compliance=["hipaa"], redactors=[]),
            lambda log: log.info(
                "patient jane@example.com called from 555-123-4567",
                patient_name="Jane Doe",
                ward="B",
                mrn=12345,
            ),
        )
        assert (
            "patient [REDACTED:email] called from [REDACTED:phone]",
            {"patient_name": "[REDACTED:name]", "ward": "B", "mrn": "[REDACTED:mrn]"},
        ) == (exported_record.body, exported_record.attributes)


class TestHipaaConformance(ProcessorConformance):
    """The plugin conformance kit passes."""

    def make_processor(self) -> HipaaRedactor:
        return HipaaRedactor()
