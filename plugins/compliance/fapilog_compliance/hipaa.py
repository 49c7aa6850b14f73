"""The HIPAA profile: the Safe Harbor identifiers that a log can be seen to carry, masked.

HIPAA's Safe Harbor method (45 CFR 164.514(b)(2)) lists eighteen kinds of identifiers.
Most have no shape of their own (a name, a device serial, an account number), so
:class:`HipaaRedactor` recognises them by the key they are logged under; a few have a shape
and are found inside any text. Each is replaced by ``[REDACTED:<kind>]``.

Found inside any text (the body, every attribute value, nested values, exception messages
and stack traces):

* e-mail addresses (``[REDACTED:email]``), Social Security numbers written ``123-45-6789``
  or ``123 45 6789`` that could be issued (``[REDACTED:ssn]``), and phone numbers in a
  recognisable format (``[REDACTED:phone]``; see ``fapilog_compliance._patterns``);
* a value after a label: ``MRN: 12345``, ``MRN#12345``, ``medical record number 12345``,
  ``patient id=P-1``, ``SSN 123456789``, ``member id``, ``policy number``, ``health plan
  id``, ``account number``, ``acct no`` (the value: one word holding a digit), and
  ``DOB: 1980-01-02``, ``date of birth 2 January 1980``, ``born Jan 2, 1980`` (a date of
  up to three words, numbers and month names, one holding a digit). The label is kept:
  ``MRN: [REDACTED:mrn]``;
* a pseudonym of the ``gdpr`` profile (``pseudo:email:...``): derived from an identifier,
  it may not stay in a Safe Harbor data set either.

Masked whole under their keys (compared by words, any case and separator, at any depth):

==========================  =============================================================
``[REDACTED:name]``         ``first_name``, ``last_name``, ``full_name``, ``given_name``,
                            ``family_name``, ``middle_name``, ``maiden_name``, ``surname``;
                            ``name`` in a key about a person (``patient_name``) or nested
                            under one (``{"patient": {"name": ...}}``)
``[REDACTED:person]``       a key whose last word names a person (``patient``,
                            ``insured_person``): its text or number; a dict under it is
                            walked with ``name`` and ``address`` masked
``[REDACTED:ssn]``          ``ssn``, ``social_security_number``
``[REDACTED:mrn]``          ``mrn``, ``medical_record_number``, ``chart_number``, ``patient_id``
``[REDACTED:health_plan]``  ``health_plan_id``, ``member_id``, ``subscriber_id``,
                            ``beneficiary_id``, ``policy_number``, ``insurance_id``,
                            ``group_number``, ``medicare_id``, ``medicaid_id``, ``mbi``, ``hicn``
``[REDACTED:date]``         ``dob``, ``date_of_birth``, ``birth_date``, ``birthday``,
                            ``date_of_death``, ``admission_date``, ``discharge_date``
``[REDACTED:email]``        ``email``, ``e_mail``
``[REDACTED:phone]``        ``phone``, ``telephone``, ``mobile``, ``cell_phone``
``[REDACTED:fax]``          ``fax``, ``fax_number``
``[REDACTED:address]``      ``address`` (alone, or in a key about a person), ``street``,
                            ``city``, ``zip``, ``zip_code``, ``postal_code``, ``postcode``,
                            ``county``, ``home_address``, ``mailing_address``,
                            ``address_line1``
``[REDACTED:device]``       ``device_id``, ``device_serial``, ``serial_number``, ``udi``,
                            ``imei``, ``mac_address``
``[REDACTED:account]``      ``account_number``, ``account_id``, ``bank_account``, ``iban``
``[REDACTED:license]``      ``license_number``, ``certificate_number``, ``drivers_license``
``[REDACTED:vehicle]``      ``vin``, ``license_plate``, ``plate_number``, ``vehicle_id``
``[REDACTED:url]``          ``url``, ``uri``, ``website``, ``homepage`` (``url.full`` too)
``[REDACTED:ip]``           ``ip``, ``ip_address``, ``client_ip``, ``remote_addr``,
                            ``client.address``, ``network.peer.address``, ``x_forwarded_for``
``[REDACTED:phi]``          the keys configured in ``keys``
==========================  =============================================================

The words that make a key about a person: ``patient``, ``person``, ``member``,
``subscriber``, ``beneficiary``, ``insured``, ``guarantor``, ``guardian``, ``caregiver``,
``dependent``, ``spouse``, ``kin``, ``relative``, ``policyholder``, ``resident``,
``individual``, and their plurals (``people`` too).

Not recognisable, so left for the application to keep out of its logs: names, addresses
and dates in free text (``"Jane Doe was admitted"``), identifiers without a label or a
known key, photographs and biometric data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from fapilog_compliance._config import NameList
from fapilog_compliance._keys import KeyTable, key_words
from fapilog_compliance._patterns import (
    Span,
    email_spans,
    phone_spans,
    replace_spans,
    ssn_spans,
)
from fapilog_compliance._walk import DEPTH_CUT, Decision, Replace, ValueWalker, masking

__all__ = ["PATTERNS", "HipaaConfig", "HipaaRedactor", "mask_for"]

#: What a value becomes when it cannot be read or is nested too deep.
FALLBACK_MASK = "[REDACTED:phi]"

_LABELLED_ID = re.compile(
    r"(?i)\b(mrn|medical[ _-]record(?:[ _-]?(?:number|num|no))?|patient[ _-]?(?:id|number)"
    r"|ssn|social[ _-]security(?:[ _-]?(?:number|num|no))?"
    r"|member[ _-]?(?:id|number)|policy[ _-]?(?:id|number|num|no)"
    r"|health[ _-]plan[ _-]?(?:id|number)|account[ _-]?(?:id|number|num|no)"
    r"|acct[ _-]?(?:number|num|no))\b\.?[ \t]{0,3}[:#=]?[ \t]{0,3}"
    r"([A-Za-z0-9][A-Za-z0-9/.-]{0,39})"
)
_LABELLED_DATE = re.compile(
    r"(?i)\b(dob|date[ _-]of[ _-]birth|birth[ _-]?date|born(?: on)?)\b\.?[ \t]{0,3}[:#=]?"
    r"[ \t]{0,3}([A-Za-z0-9][A-Za-z0-9/.-]{0,19}"
    r"(?:,? (?:[0-9]{1,4}(?:st|nd|rd|th)?|(?:j[au]|fe|ma|a[pu]|se|oc|no|de)[a-z]{1,7}\.?))"
    r"{0,2})"
)
_PSEUDONYM = re.compile(r"\bpseudo:([a-z]+):[0-9a-f]{16}\b")
_DIGIT = re.compile(r"[0-9]")

#: Every expression of this module, for the backtracking check.
PATTERNS: tuple[re.Pattern[str], ...] = (_LABELLED_ID, _LABELLED_DATE, _PSEUDONYM, _DIGIT)

#: Every text with a label of ``_LABELLED_ID`` (``_LABELLED_DATE``) holds one of these.
_ID_LABEL_WORDS = ("mrn", "medical", "patient", "ssn", "social", "member", "policy", "plan", "acc")
_DATE_LABEL_WORDS = ("dob", "birth", "born")

#: The kind of a label's value, by the label's first three letters.
_LABEL_KINDS = {
    "mrn": "mrn",
    "med": "mrn",
    "pat": "mrn",
    "ssn": "ssn",
    "soc": "ssn",
    "mem": "health_plan",
    "pol": "health_plan",
    "hea": "health_plan",
    "acc": "account",
}

_PERSON = frozenset(
    {
        "patient",
        "patients",
        "person",
        "persons",
        "people",
        "member",
        "members",
        "subscriber",
        "subscribers",
        "beneficiary",
        "beneficiaries",
        "insured",
        "guarantor",
        "guarantors",
        "guardian",
        "guardians",
        "caregiver",
        "caregivers",
        "dependent",
        "dependents",
        "spouse",
        "kin",
        "relative",
        "relatives",
        "policyholder",
        "resident",
        "residents",
        "individual",
        "individuals",
    }
)

_NAME_WORDS = ("first", "last", "full", "given", "family", "middle", "maiden")
_IDS = ("id", "number", "no", "identifier")

_KEYS = KeyTable(
    words={
        **dict.fromkeys((f"{word}name" for word in (*_NAME_WORDS, "patient", "sur")), "name"),
        "surname": "name",
        "ssn": "ssn",
        "mrn": "mrn",
        "mbi": "health_plan",
        "hicn": "health_plan",
        "dob": "date",
        "birthdate": "date",
        "birthday": "date",
        "email": "email",
        "phone": "phone",
        "telephone": "phone",
        "mobile": "phone",
        "cellphone": "phone",
        "fax": "fax",
        "street": "address",
        "city": "address",
        "zip": "address",
        "zipcode": "address",
        "postcode": "address",
        "county": "address",
        "udi": "device",
        "imei": "device",
        "iban": "account",
        "vin": "vehicle",
        "url": "url",
        "uri": "url",
        "website": "url",
        "homepage": "url",
        "ip": "ip",
    },
    phrases={
        **{(word, "name"): "name" for word in _NAME_WORDS},
        ("social", "security"): "ssn",
        ("medical", "record"): "mrn",
        ("chart", "number"): "mrn",
        **{("patient", word): "mrn" for word in _IDS},
        ("health", "plan"): "health_plan",
        **{
            (holder, word): "health_plan"
            for holder in (
                "beneficiary",
                "member",
                "subscriber",
                "policy",
                "insurance",
                "group",
                "medicare",
                "medicaid",
            )
            for word in _IDS
        },
        ("date", "of", "birth"): "date",
        ("birth", "date"): "date",
        ("date", "of", "death"): "date",
        ("death", "date"): "date",
        ("admission", "date"): "date",
        ("admit", "date"): "date",
        ("discharge", "date"): "date",
        ("e", "mail"): "email",
        ("cell", "phone"): "phone",
        ("cell", "number"): "phone",
        ("serial", "number"): "device",
        ("serial", "no"): "device",
        ("device", "id"): "device",
        ("device", "identifier"): "device",
        ("device", "serial"): "device",
        ("mac", "address"): "device",
        **{("account", word): "account" for word in _IDS},
        ("acct", "no"): "account",
        ("acct", "number"): "account",
        ("bank", "account"): "account",
        ("license", "number"): "license",
        ("licence", "number"): "license",
        ("certificate", "number"): "license",
        ("driver", "license"): "license",
        ("drivers", "license"): "license",
        ("driving", "licence"): "license",
        ("license", "plate"): "vehicle",
        ("plate", "number"): "vehicle",
        ("vehicle", "id"): "vehicle",
        ("client", "address"): "ip",
        ("peer", "address"): "ip",
        ("remote", "addr"): "ip",
        ("remote", "address"): "ip",
        ("forwarded", "for"): "ip",
        ("home", "address"): "address",
        ("mailing", "address"): "address",
        ("postal", "address"): "address",
        ("billing", "address"): "address",
        ("shipping", "address"): "address",
        ("residential", "address"): "address",
        ("address", "line"): "address",
        ("postal", "code"): "address",
    },
)


def mask_for(kind: str) -> str:
    """What an identifier of ``kind`` (``email``, ``ssn``, ``name``...) is replaced with."""
    return f"[REDACTED:{kind}]"


_EMAIL_MASK = mask_for("email")
_SSN_MASK = mask_for("ssn")
_PHONE_MASK = mask_for("phone")
_DATE_MASK = mask_for("date")
_PERSON_MASK = mask_for("person")


def _constant(mask: str) -> Callable[[str], str]:
    def render(found: str) -> str:
        return mask

    return render


_EMAIL_RENDER = _constant(_EMAIL_MASK)
_SSN_RENDER = _constant(_SSN_MASK)
_PHONE_RENDER = _constant(_PHONE_MASK)


def _labelled(pattern: re.Pattern[str], text: str, kind_of: Callable[[str], str]) -> str:
    """``text`` with the value after each label of ``pattern`` masked (when it holds a
    digit), the label kept."""
    spans: list[Span] = []
    kinds: list[str] = []
    for match in pattern.finditer(text):
        start, end = match.span(2)
        value = text[start:end].rstrip(".-/, ")
        if _DIGIT.search(value) is None:
            continue
        spans.append((start, start + len(value)))
        kinds.append(kind_of(match.group(1)))
    if not spans:
        return text
    masks = iter(kinds)
    return replace_spans(text, spans, lambda found: mask_for(next(masks)))


def _label_kind(label: str) -> str:
    return _LABEL_KINDS.get(label[:3].lower(), "phi")


def _date_kind(label: str) -> str:
    return "date"


def _pseudonym_mask(match: re.Match[str]) -> str:
    return mask_for(match.group(1))


class HipaaConfig(BaseModel):
    """Settings of the ``hipaa`` profile (``FAPILOG_PLUGINS__HIPAA__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: NameList = Field(default_factory=list)
    """More keys whose whole value is PHI, masked as ``[REDACTED:phi]``. Each is split
    into words like a key and matches every key holding those words in a row (``pt_nm``
    matches ``pt_nm`` and ``visit.ptNm``)."""


class HipaaRedactor(ValueWalker):
    """The ``hipaa`` profile's redactor (see the module docstring for what it masks).

    Args:
        config: The settings; the defaults use the built-in keys only.
    """

    name: ClassVar[str] = "hipaa"
    config_model: ClassVar[type[BaseModel]] = HipaaConfig

    def __init__(self, config: HipaaConfig | None = None) -> None:
        super().__init__(FALLBACK_MASK)
        self.config = config if config is not None else HipaaConfig()
        self._extra = KeyTable.of_names(self.config.keys, "phi")
        self._replacements: dict[str, Replace] = {}

    def __repr__(self) -> str:
        return f"HipaaRedactor(keys={list(self.config.keys)!r})"

    def _masking(self, kind: str) -> Replace:
        replace = self._replacements.get(kind)
        if replace is None:
            replace = self._replacements[kind] = masking(mask_for(kind))
        return replace

    def _decide(self, key: str, context: object) -> Decision:
        words = key_words(key)
        about_person = context is True or not _PERSON.isdisjoint(words)
        inner = True if about_person else context
        kind = self._extra.category(words) if self._extra else None
        if kind is None:
            kind = _KEYS.category(words)
        if kind is None and words:
            if about_person and "name" in words:
                kind = "name"
            elif (about_person and "address" in words) or words == ("address",):
                kind = "address"
            elif words[-1] in _PERSON:
                return self._person, True
        return (self._masking(kind) if kind is not None else None), inner

    def _person(self, value: Any, depth: int) -> Any:
        """The value under a key naming a person: its text masked, its fields walked."""
        cls = value.__class__
        if value is None or cls is bool:
            return value
        if depth >= DEPTH_CUT:
            return FALLBACK_MASK
        if cls is dict:
            return self._value(value, True, depth)
        if cls is list or cls is tuple:
            items = [self._person(item, depth + 1) for item in value]
            return items if cls is list else tuple(items)
        return _PERSON_MASK

    def _scan(self, text: str) -> str:
        if "pseudo:" in text:
            text = _PSEUDONYM.sub(_pseudonym_mask, text)
        if "@" in text:
            text = replace_spans(text, email_spans(text), _EMAIL_RENDER)
        if _DIGIT.search(text) is None:
            return text
        text = replace_spans(text, ssn_spans(text), _SSN_RENDER)
        text = replace_spans(text, phone_spans(text), _PHONE_RENDER)
        lowered = text.lower()
        if any(word in lowered for word in _ID_LABEL_WORDS):
            text = _labelled(_LABELLED_ID, text, _label_kind)
        if any(word in lowered for word in _DATE_LABEL_WORDS):
            text = _labelled(_LABELLED_DATE, text, _date_kind)
        return text
