"""Fixtures for the shared contract's tests: the seed documents the rules cite.

The seeds are the source of truth for which documents each case needs, so
a rule's quote is checked against the seed's own words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``shared/`` sits beside the repository (``/work/shared`` for ``/work/main``).
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "seeds").is_dir():
        pytest.skip(f"seed documents not found in {SHARED}")
    return SHARED


@pytest.fixture
def seed_text(shared_dir):
    """``seed_text("002")`` → that seed's text; ``seed_text("REFERENCE")`` → shared/REFERENCE.md."""

    def read(doc: str) -> str:
        if doc == "REFERENCE":
            return (shared_dir / "REFERENCE.md").read_text(encoding="utf-8")
        (path,) = sorted((shared_dir / "seeds").glob(f"{doc}_*.txt"))
        return path.read_text(encoding="utf-8")

    return read
