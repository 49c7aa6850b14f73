"""Rules of the package layout that code review alone would let slip."""

from __future__ import annotations

import ast
from pathlib import Path

import fapilog_otel

PACKAGE = Path(fapilog_otel.__file__).parent
UNSTABLE = ("opentelemetry.sdk._logs", "opentelemetry._logs")


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


class TestLayout:
    def test_only_the_sdk_package_imports_unstable_otel_logs_modules(self) -> None:
        """The SDK's 'Development' logs modules are imported only inside fapilog_otel/_sdk/."""
        offenders = sorted(
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if "_sdk" not in path.relative_to(PACKAGE).parts
            and any(m.startswith(UNSTABLE) for m in imported_modules(path))
        )
        assert [] == offenders

    def test_the_sdk_package_does_use_them(self) -> None:
        """The check above is live: the _sdk package itself imports the unstable modules."""
        sdk = PACKAGE / "_sdk"
        users = [
            p for p in sdk.glob("*.py") if any(m.startswith(UNSTABLE) for m in imported_modules(p))
        ]
        assert 0 < len(users)

    def test_modules_stay_small(self) -> None:
        """No module of the package grows past 600 lines (split it by job instead)."""
        sizes = {
            str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
            for p in PACKAGE.rglob("*.py")
        }
        assert {} == {name: n for name, n in sizes.items() if n > 600}
