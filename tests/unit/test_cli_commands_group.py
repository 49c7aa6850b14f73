"""Plugin commands: the ``fapilog_otel.commands`` entry points add subcommands to the CLI.

The distributions are fakes on ``sys.path`` (see ``test_plugins.make_distribution``).
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_plugins import make_distribution

from fapilog_otel.cli import main

COMMANDS_MODULE = """
def add_parser(commands):
    parser = commands.add_parser("hello", help="say hello")
    parser.add_argument("name")
    parser.set_defaults(run=lambda args, out: out.write(f"hello {args.name}\\n") and 0)

def half(commands):
    commands.add_parser("half", help="registered, then the plugin fails")
    raise RuntimeError("half-way failure")

def no_run(commands):
    commands.add_parser("norun", help="forgot to set run")

def doctor(commands):
    raise AssertionError("a built-in name: never called")
"""


@pytest.fixture
def plugin_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake distributions with a working, a half-failing, an unimportable, a run-less and a
    clashing command."""
    make_distribution(
        tmp_path,
        "fake-commands",
        "fake_commands_mod",
        COMMANDS_MODULE,
        """
        [fapilog_otel.commands]
        hello = fake_commands_mod:add_parser
        half = fake_commands_mod:half
        norun = fake_commands_mod:no_run
        doctor = fake_commands_mod:doctor
        """,
    )
    make_distribution(
        tmp_path,
        "broken-commands",
        "broken_commands_mod",
        "raise ImportError('missing native library')\n",
        """
        [fapilog_otel.commands]
        broken = broken_commands_mod:add_parser
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    for module in ("fake_commands_mod", "broken_commands_mod"):
        sys.modules.pop(module, None)


def help_text(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert 0 == exit_info.value.code
    return capsys.readouterr().out


@pytest.mark.usefixtures("plugin_commands")
class TestPluginCommands:
    def test_a_plugin_command_runs(self) -> None:
        """An entry point's add_parser registers a subcommand that main() runs."""
        out = io.StringIO()
        assert 0 == main(["hello", "world"], out)
        assert "hello world\n" == out.getvalue()

    def test_help_lists_them_and_says_which_failed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--help lists every command once and notes the ones that failed to load."""
        text = help_text(capsys)
        for word in ("doctor", "plugins", "bench", "hello", "say hello"):
            assert word in text
        assert "registered, then the plugin fails" not in text  # the half-made one is gone
        assert 1 == text.count("[not available: failed to load from fake-commands]")
        assert "plugin commands not available:" in text
        assert "broken (broken-commands): failed to load: ImportError: missing native" in text
        assert "half (fake-commands): failed to load: RuntimeError: half-way failure" in text
        assert "doctor (fake-commands): the name is taken by another command" in text

    @pytest.mark.parametrize(
        ("command", "error"),
        [("broken", "ImportError('missing native library')"), ("half", "half-way failure")],
    )
    def test_a_failed_command_says_why(
        self, capsys: pytest.CaptureFixture[str], command: str, error: str
    ) -> None:
        """Running a command that failed to load prints the error and exits 2."""
        assert 2 == main([command, "any", "--args"], io.StringIO())
        assert error.split("(")[0] in capsys.readouterr().err

    def test_the_built_in_wins_over_a_clashing_plugin(self) -> None:
        """A plugin command named like a built-in one is ignored; the built-in runs."""
        with pytest.raises(SystemExit) as exit_info:
            main(["doctor", "--help"])
        assert 0 == exit_info.value.code

    def test_a_command_without_run_is_a_usage_error(self) -> None:
        """A plugin that sets no run() makes its command exit 2, not crash."""
        with pytest.raises(SystemExit) as exit_info:
            main(["norun"])
        assert 2 == exit_info.value.code

    def test_built_in_commands_still_work(self) -> None:
        """The failures of plugin commands do not reach the built-in ones."""
        out = io.StringIO()
        assert main(["plugins", "list", "--json", "--no-conformance"], out) in (0, 1)
        assert out.getvalue().startswith("[")
