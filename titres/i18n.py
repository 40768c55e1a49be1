"""Looking up user-facing text: French first, English second, one table (``titres.messages``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from titres.messages import MESSAGES, NBSP

LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Translator:
    """Text in one language. Missing keys show the key itself, loudly, rather than crash a screen.

    ``typography`` keeps the table's non-breaking spaces (« Prendre la photo », "Motif : Perte"): what a
    screen wraps wants them. Without it (a terminal's table, a log, a file that is grepped) they are
    plain spaces.
    """

    lang: str = "fr"
    table: Mapping[str, Mapping[str, str]] = field(default=None, compare=False)  # type: ignore[assignment]
    typography: bool = False

    def __post_init__(self) -> None:
        if self.table is None:
            object.__setattr__(self, "table", MESSAGES)

    def __call__(self, key: str, **params: object) -> str:
        entry = self.table.get(key)
        if entry is None:
            return f"⟨{key}⟩"
        text = entry.get(self.lang) or entry["fr"]
        if not self.typography:
            text = text.replace(NBSP, " ")
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self.table

    def plural(self, key: str, count: int, **params: object) -> str:
        """``key.one`` or ``key.other`` by the language's rule (French: 0 and 1 are singular), with
        ``count``: "1 pièce", "2 pièces", never "pièce(s)"."""
        one = count in (0, 1) if self.lang == "fr" else count == 1
        return self(f"{key}.{'one' if one else 'other'}", count=count, **params)

    def worded(self, key: str, audience: str | None, **params: object) -> str:
        """``key`` as said to ``audience``: ``key.child`` to a parent applying for their child
        ("Votre enfant a-t-il…") when the table has it, else ``key``."""
        if audience == "child" and f"{key}.child" in self.table:
            key = f"{key}.child"
        return self(key, **params)

    def other(self) -> "Translator":
        return Translator("en" if self.lang == "fr" else "fr", self.table, self.typography)


def euros(cents: int, lang: str = "fr") -> str:
    """``2500`` → ``25 €`` (fr) or ``€25`` (en); ``1250`` → ``12,50 €`` / ``€12.50``."""
    whole, rest = divmod(cents, 100)
    if lang == "fr":
        return f"{whole},{rest:02d} €" if rest else f"{whole} €"
    return f"€{whole}.{rest:02d}" if rest else f"€{whole}"
