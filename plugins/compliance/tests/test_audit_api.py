"""The public names of fapilog_compliance.audit."""

from __future__ import annotations

import fapilog_compliance.audit as audit


class TestPublicNames:
    def test_all_is_sorted(self) -> None:
        """__all__ is sorted."""
        assert sorted(audit.__all__) == audit.__all__

    def test_all_is_complete(self) -> None:
        """Every name in __all__ exists, and every public class or function is in it."""
        public = {
            name
            for name, value in vars(audit).items()
            if not name.startswith("_") and callable(value)
        }
        assert public == set(audit.__all__)
