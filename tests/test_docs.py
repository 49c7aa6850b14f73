"""The documentation stays true: every example runs, every setting and link is there."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import fapilog_otel
from fapilog_otel.settings import Settings
from fapilog_otel.testing import CodeBlock, python_blocks

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

BLOCK_TIMEOUT_S = 60

_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def block_id(block: CodeBlock) -> str:
    """``docs/page.md#3``: the block's file and number."""
    return f"{block.path.relative_to(ROOT)}#{block.index}"


ALL_BLOCKS = [block for path in DOC_FILES for block in python_blocks(path)]


def clean_env() -> dict[str, str]:
    """The test process's environment without any OTEL_* or FAPILOG_* variable."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OTEL_", "FAPILOG_"))
    }


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """The lines of ``stdout`` that are JSON objects, decoded."""
    out = []
    for line in stdout.splitlines():
        if line.startswith('{"'):
            out.append(json.loads(line))
    return out


def check_readme_quickstart(block: CodeBlock, stdout: str) -> None:
    """The quickstart prints JSON lines for its records, then the stats."""
    assert 'log.info("order placed"' in block.code
    records = json_lines(stdout)
    bodies = [r.get("body") for r in records]
    assert "order placed" in bodies
    assert "not shown" not in bodies
    placed = records[bodies.index("order placed")]
    assert "INFO" == placed["severity_text"]
    assert 9 == placed["severity_number"]
    assert "checkout" == placed["scope"]
    assert {"order_id": 123, "amount": 9.99, "vip": True} == placed["attributes"]
    event = next(r for r in records if r.get("event_name") == "user.login")
    assert "body" not in event
    failed = records[bodies.index("payment failed")]
    assert "KeyError" == failed["attributes"]["exception.type"]
    assert "acme" == records[bodies.index("handled")]["attributes"]["tenant"]
    assert {"job": 1} == records[bodies.index("job done")]["attributes"]
    assert "'submitted': 6" in stdout


def check_readme_stdlib(block: CodeBlock, stdout: str) -> None:
    """The stdlib record arrives as a JSON line with its extra as an attribute."""
    assert "stdlib.install" in block.code
    (record,) = json_lines(stdout)
    assert "disk 91% full" == record["body"]
    assert "third.party" == record["scope"]
    assert {"mount": "/var"} == record["attributes"]


def check_configuration_error(block: CodeBlock, stdout: str) -> None:
    """The error message shown in the docs is the one printed."""
    assert "OTEL_BLRP_MAX_QUEUE_SIZE" in block.code
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert stdout.strip() in text


#: Blocks whose output matters, by file and block index, with what to check.
OUTPUT_CHECKS: dict[str, Callable[[CodeBlock, str], None]] = {
    "README.md#0": check_readme_quickstart,
    "README.md#2": check_readme_stdlib,
    "docs/configuration.md#2": check_configuration_error,
}


class TestCodeBlocks:
    """Every Python example in README.md and docs/ runs as shown."""

    @pytest.mark.integration
    @pytest.mark.parametrize("block", ALL_BLOCKS, ids=[block_id(b) for b in ALL_BLOCKS])
    def test_block_runs(self, block: CodeBlock, tmp_path: Path) -> None:
        """The block exits with status 0 in a fresh interpreter (and prints what it should)."""
        if not block.runnable:
            pytest.skip("a fragment marked <!-- no-run -->")
        script = tmp_path / "block.py"
        script.write_text(block.code, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )
        assert 0 == result.returncode, (
            f"{block_id(block)} (line {block.line}) failed:\n{result.stdout}\n{result.stderr}"
        )
        check = OUTPUT_CHECKS.get(block_id(block))
        if check is not None:
            check(block, result.stdout)

    def test_output_checks_name_existing_blocks(self) -> None:
        """Every output check points at a block that exists and can run."""
        runnable = {block_id(b) for b in ALL_BLOCKS if b.runnable}
        assert set() == set(OUTPUT_CHECKS) - runnable

    def test_opt_outs_are_rare(self) -> None:
        """At most a couple of blocks are excused from running."""
        skipped = [block_id(b) for b in ALL_BLOCKS if not b.runnable]
        assert len(skipped) <= 2, skipped

    def test_documents_exist(self) -> None:
        """The documents this suite is meant to cover exist."""
        names = {p.relative_to(ROOT).as_posix() for p in DOC_FILES}
        expected = {
            "README.md",
            "docs/architecture.md",
            "docs/configuration.md",
            "docs/deployment.md",
            "docs/exporters.md",
            "docs/performance.md",
            "docs/stdlib-and-otel.md",
            "docs/user-guide.md",
        }
        assert set() == expected - names


def settings_variables(model: type[BaseModel], prefix: str = "FAPILOG_") -> Iterator[str]:
    """Yield the FAPILOG_* variable of every field of ``model``, recursing into sections."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from settings_variables(annotation, f"{prefix}{name.upper()}__")
        else:
            yield f"{prefix}{name.upper()}"


class TestConfigurationReference:
    """docs/configuration.md lists every setting."""

    def test_every_setting_is_documented(self) -> None:
        """Each Settings field, nested ones included, appears by its FAPILOG_ variable."""
        text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
        variables = list(settings_variables(Settings))
        assert "FAPILOG_BATCH__MAX_SIZE" in variables
        missing = [v for v in variables if not re.search(rf"`{v}`", text)]
        assert [] == missing

    def test_every_otel_variable_is_documented(self) -> None:
        """Each OTEL_* variable the settings read appears in the configuration reference."""
        from fapilog_otel.settings import _OtelEnvironmentSource

        text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
        variables = set(_OtelEnvironmentSource.SIMPLE)
        for pair in _OtelEnvironmentSource.LIMITS.values():
            variables.update(pair)
        variables.add("OTEL_RESOURCE_ATTRIBUTES")
        assert [] == sorted(v for v in variables if f"`{v}`" not in text)

    def test_documented_defaults_match(self) -> None:
        """The defaults the table states are the defaults of a Settings made from nothing."""
        old = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(clean_env())
            settings = Settings()
        finally:
            os.environ.clear()
            os.environ.update(old)
        text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
        for variable, value in [
            ("FAPILOG_LEVEL", '`"info"`'),
            ("FAPILOG_QUEUE_SIZE", "`65536`"),
            ("FAPILOG_OVERFLOW", '`"block"`'),
            ("FAPILOG_BLOCK_TIMEOUT_MS", "`100.0`"),
            ("FAPILOG_ERROR_RESERVE", "`0.1`"),
            ("FAPILOG_SHUTDOWN_TIMEOUT", "`5.0`"),
            ("FAPILOG_DROP_REPORT_INTERVAL", "`10.0`"),
            ("FAPILOG_DIAGNOSTICS", "`True`"),
            ("FAPILOG_BATCH__MAX_SIZE", "`1024`"),
            ("FAPILOG_BATCH__MAX_DELAY_MS", "`0.0`"),
            ("FAPILOG_BATCH__EXPORT_TIMEOUT_MS", "`30000.0`"),
            ("FAPILOG_CONSOLE__FORMAT", '`"auto"`'),
            ("FAPILOG_CONSOLE__STREAM", '`"stdout"`'),
            ("FAPILOG_CONSOLE__COLOR", "`None`"),
            ("FAPILOG_FILE__PATH", "`None`"),
            ("FAPILOG_FILE__MAX_BYTES", "`0`"),
            ("FAPILOG_FILE__ROTATE_INTERVAL", "`0.0`"),
            ("FAPILOG_FILE__BACKUP_COUNT", "`5`"),
            ("FAPILOG_FILE__COMPRESS", "`False`"),
            ("FAPILOG_LIMITS__ATTRIBUTE_COUNT", "`128`"),
            ("FAPILOG_LIMITS__ATTRIBUTE_VALUE_LENGTH", "`None`"),
        ]:
            row = next(
                ln for ln in text.splitlines() if ln.startswith("| `") and f"`{variable}`" in ln
            )
            assert value in row.split("|")[2], (variable, row)
            path = variable.removeprefix("FAPILOG_").lower().split("__")
            actual: Any = settings
            for part in path:
                actual = getattr(actual, part)
            shown = value.strip("`")
            assert shown == (json.dumps(actual) if isinstance(actual, str) else repr(actual))


class TestPublicNames:
    """The package's __all__ is sorted and complete."""

    def test_all_is_sorted(self) -> None:
        """__all__ is in sorted order."""
        assert sorted(fapilog_otel.__all__) == list(fapilog_otel.__all__)

    def test_all_is_complete(self) -> None:
        """Every public name imported in __init__ is exported, and every export exists."""
        tree = ast.parse(Path(fapilog_otel.__file__).read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module != "__future__"
            for alias in node.names
            if not (alias.asname or alias.name).startswith("_")
        }
        assert imported == set(fapilog_otel.__all__)
        assert [] == [n for n in fapilog_otel.__all__ if not hasattr(fapilog_otel, n)]


class TestLinks:
    """Relative links between the documents point at files that exist."""

    @pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
    def test_relative_links_resolve(self, path: Path) -> None:
        """Each relative link of the document names an existing file."""
        text = path.read_text(encoding="utf-8")
        targets = [m.group(1) for m in _LINK.finditer(text) if "://" not in m.group(1)]
        assert [] == [t for t in targets if not (path.parent / t).exists()]
