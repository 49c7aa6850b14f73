"""The profiles as the container loads them: entry points, factories, the Profile they
return, stage order, combinations; and the package's public names and expressions."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
import time
from importlib import metadata
from pathlib import Path
from types import ModuleType

import fapilog_otel as fo
import pytest
from compliance_helpers import KEY, exported, record
from fapilog_otel.processors._regex_safety import unsafe_reason

import fapilog_compliance
from fapilog_compliance import Profile, _patterns, gdpr, hipaa, pci, profiles

PUBLIC_MODULES = [fapilog_compliance, profiles, pci, hipaa, gdpr, _patterns]
PATTERNS = [*pci.PATTERNS, *hipaa.PATTERNS, *_patterns.PATTERNS]
SETTINGS = {"plugins": {"gdpr": {"key": KEY}}, "diagnostics": False}


class TestProfile:
    def test_defaults(self) -> None:
        """A profile has a name and, by default, no processors and no exporters."""
        assert ("x", (), ()) == dataclasses.astuple(Profile(name="x"))

    def test_frozen(self) -> None:
        """A profile cannot be changed once made."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            Profile(name="x").name = "y"  # type: ignore[misc]


class TestEntryPoints:
    @pytest.mark.parametrize("name", ["pci", "hipaa", "gdpr"])
    def test_registered(self, name: str) -> None:
        """Each profile is an entry point of group ``fapilog_otel.compliance``."""
        (entry_point,) = metadata.entry_points(group="fapilog_otel.compliance", name=name)
        assert getattr(profiles, name) is entry_point.load()

    @pytest.mark.parametrize(
        ("name", "processor"),
        [("pci", pci.PciRedactor), ("hipaa", hipaa.HipaaRedactor), ("gdpr", gdpr.Pseudonymiser)],
    )
    def test_factory(self, name: str, processor: type) -> None:
        """Each factory returns a Profile with its one redactor and no exporter."""
        profile = getattr(profiles, name)(fo.Settings(**SETTINGS))
        assert (name, [processor], (), "redactor", name, 1) == (
            profile.name,
            [type(p) for p in profile.processors],
            profile.exporters,
            profile.processors[0].kind,
            profile.processors[0].name,
            profile.processors[0].fapilog_api_version,
        )

    def test_by_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``FAPILOG_COMPLIANCE=pci,hipaa,gdpr`` loads the three, in that order, after the
        default redactors."""
        monkeypatch.setenv("FAPILOG_COMPLIANCE", "pci, HIPAA ,gdpr")
        monkeypatch.setenv("FAPILOG_PSEUDONYM_KEY", KEY)
        with fo.Container(fo.Settings(diagnostics=False), exporters=[]) as container:
            names = list(container.stats()["processors"])
        assert ["redact_keys", "redact_values", "pci", "hipaa", "gdpr"] == names


class TestTogether:
    def test_every_profile_on_one_record(self) -> None:
        """With the three profiles each does its part on the same record."""
        (record,) = exported(
            fo.Settings(compliance=["pci", "hipaa", "gdpr"], **SETTINGS),
            lambda log: log.info(
                "card 4111.1111.1111.1111 of jane@example.com from 203.0.113.9",
                cvv=123,
                mrn=12,
                order=77,
            ),
        )
        assert re.fullmatch(
            r"card 411111\*{6}1111 of \[REDACTED:email\] from pseudo:ip:[0-9a-f]{16}",
            record.body,
        )
        assert {"cvv": "[REDACTED:cvv]", "mrn": "[REDACTED:mrn]", "order": 77} == (
            record.attributes
        )

    @pytest.mark.parametrize("order", [["hipaa", "gdpr"], ["gdpr", "hipaa"]])
    def test_hipaa_masks_whatever_the_order(self, order: list[str]) -> None:
        """HIPAA masks an e-mail address whether gdpr ran before it or not."""
        (record,) = exported(
            fo.Settings(compliance=order, **SETTINGS), lambda log: log.info("from a@b.co")
        )
        assert "from [REDACTED:email]" == record.body

    def test_unknown_profile(self) -> None:
        """A profile nobody offers fails the container with a PluginError."""
        with pytest.raises(fo.PluginError, match="nosuch"):
            fo.Container(fo.Settings(compliance=["nosuch"]))


class TestPublicNames:
    @pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
    def test_all_is_sorted_and_exists(self, module: ModuleType) -> None:
        """Each public module's ``__all__`` is sorted (constants, classes, functions, as
        ruff sorts it) and names what it holds."""
        assert sorted(module.__all__, key=isort_order) == list(module.__all__)
        assert [] == [name for name in module.__all__ if not hasattr(module, name)]

    def test_package_exports_what_it_imports(self) -> None:
        """``fapilog_compliance`` exports every public name it imports, and stays light."""
        path = Path(fapilog_compliance.__file__)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module != "__future__"
            for alias in node.names
        }
        assert imported == set(fapilog_compliance.__all__)

    @pytest.mark.parametrize("module", ["pci", "hipaa", "gdpr"])
    def test_public_functions_documented(self, module: str) -> None:
        """Every public name of a profile module has a docstring."""
        loaded = importlib.import_module(f"fapilog_compliance.{module}")
        undocumented = [
            name
            for name in loaded.__all__
            if callable(getattr(loaded, name)) and not getattr(loaded, name).__doc__
        ]
        assert [] == undocumented


class TestExpressions:
    @pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:40])
    def test_no_catastrophic_backtracking(self, pattern: re.Pattern[str]) -> None:
        """Every expression passes the library's static backtracking check."""
        assert None is unsafe_reason(pattern.pattern)

    @pytest.mark.parametrize(
        "text",
        [
            "4 " * 50_000,
            "1.2." * 25_000,
            "a" * 100_000 + "@",
            "a@" * 50_000,
            "ab:" * 33_000,
            "+1 2" * 25_000,
            "MRN: " * 20_000,
            "born 1 " * 15_000,
            "x" * 1_000_000,
        ],
        ids=lambda text: repr(text[:6]),
    )
    def test_hostile_text_is_scanned_quickly(self, text: str) -> None:
        """Texts built to make scanners slow take well under a second each."""
        processors = [
            pci.PciRedactor(),
            hipaa.HipaaRedactor(),
            gdpr.Pseudonymiser(gdpr.GdprConfig.model_validate({"key": KEY})),
        ]
        started = time.perf_counter()
        for processor in processors:
            processor.process(record(text))
        assert time.perf_counter() - started < 1.5


def isort_order(name: str) -> tuple[int, str]:
    """Where ruff's isort-style sorting puts ``name``: constants, classes, the rest."""
    if name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name
