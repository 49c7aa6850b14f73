"""``fapilog-otel audit verify``: exit statuses, reports, the key, the console script."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from audit_helpers import KEY, clean_env, console_script, copy_trail, read_lines, write_lines
from audit_helpers import write_trail as make_trail
from fapilog_otel.cli import main


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sealed trail over a few files (copy it before changing it)."""
    return make_trail(tmp_path_factory.mktemp("cli") / "audit.log", 6, max_bytes=1500)


@pytest.fixture
def trail(pristine: Path, tmp_path: Path) -> Path:
    return copy_trail(pristine, tmp_path / "copy")


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trail's key is in FAPILOG_AUDIT_KEY, as in production."""
    monkeypatch.setenv("FAPILOG_AUDIT_KEY", KEY)


def verify(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["audit", "verify", *argv], out)
    return status, out.getvalue()


class TestVerifyCommand:
    def test_an_intact_trail(self, pristine: Path) -> None:
        """Exit 0 and a one-line summary: files, lines, seq span, sealed."""
        status, text = verify(str(pristine))
        assert 0 == status
        assert 1 == len(text.splitlines())
        assert text.startswith("intact: ")
        assert "(6 audit events)" in text and "sealed" in text

    def test_a_tampered_trail_names_the_line(self, trail: Path) -> None:
        """Exit 1, naming the file and line of the first problem."""
        lines = read_lines(trail)
        del lines[1]
        write_lines(trail, lines)
        status, text = verify(str(trail))
        assert 1 == status
        assert text.startswith(f"TAMPERED: {trail.name} line 2: seq ")

    def test_json(self, trail: Path) -> None:
        """--json prints the whole report."""
        status, text = verify(str(trail), "--json")
        report = json.loads(text)
        assert (0, True, 6, None) == (status, report["ok"], report["records"], report["problem"])

    def test_open_ok(self, trail: Path) -> None:
        """A trail without its seal fails, and passes with --open-ok."""
        write_lines(trail, read_lines(trail)[:-1])
        assert 1 == verify(str(trail))[0]
        status, text = verify(str(trail), "--open-ok")
        assert 0 == status
        assert "open (not sealed)" in text

    def test_a_wrong_key(self, trail: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Another key: exit 1 at the first line, suggesting the key."""
        monkeypatch.setenv("FAPILOG_AUDIT_KEY", "x" * 32)
        status, text = verify(str(trail))
        assert 1 == status
        assert "audit.log.1 line 1: MAC mismatch" in text and "right key" in text

    def test_key_env(self, trail: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """--key-env reads the key from another variable."""
        monkeypatch.delenv("FAPILOG_AUDIT_KEY")
        monkeypatch.setenv("OLD_TRAIL_KEY", KEY)
        assert 0 == verify(str(trail), "--key-env", "OLD_TRAIL_KEY")[0]

    @pytest.mark.parametrize("key", [None, "short"])
    def test_no_usable_key_is_a_usage_error(
        self,
        trail: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        key: str | None,
    ) -> None:
        """No key, or a key too short: exit 2 with a message naming the variable."""
        if key is None:
            monkeypatch.delenv("FAPILOG_AUDIT_KEY")
        else:
            monkeypatch.setenv("FAPILOG_AUDIT_KEY", key)
        assert 2 == verify(str(trail))[0]
        error = capsys.readouterr().err
        assert "FAPILOG_AUDIT_KEY" in error
        assert "short" not in error.replace("FAPILOG", "")

    def test_no_trail_is_a_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A path with no trail: exit 2."""
        assert 2 == verify(str(tmp_path / "nothing.log"))[0]
        assert "no audit trail" in capsys.readouterr().err

    def test_help_lists_the_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        """fapilog-otel --help lists audit, and audit verify --help the exit statuses."""
        with pytest.raises(SystemExit):
            main(["--help"])
        assert "audit" in capsys.readouterr().out
        with pytest.raises(SystemExit):
            main(["audit", "verify", "--help"])
        assert "exit status:" in capsys.readouterr().out


class TestConsoleScript:
    def test_the_installed_command(self, trail: Path) -> None:
        """The real fapilog-otel script verifies a trail (0), then a tampered copy (1)."""
        script = console_script()
        if not script.exists():
            pytest.skip(f"no console script at {script}")
        env = clean_env(FAPILOG_AUDIT_KEY=KEY)
        command = [str(script), "audit", "verify", str(trail)]
        intact = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert (0, "") == (intact.returncode, intact.stderr)
        assert intact.stdout.startswith("intact: ")
        trail.write_bytes(trail.read_bytes().replace(b'"alice"', b'"mallet"', 1))
        tampered = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert 1 == tampered.returncode
        assert "MAC mismatch" in tampered.stdout
