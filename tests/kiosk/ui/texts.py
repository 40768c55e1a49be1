"""The message keys the kiosk's screens can show, found once for the tests and the speech benchmark.

The screens (their kv and Python files, and the app), the technician's
tools behind them and the narration name their texts literally
(``app.t('welcome.start')``, ``t.plural('stamp.count', …)``): one pattern finds them. A screen that builds a key from a value
(``t(f"finger.{finger}")``) can show every key of that family.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from titres.messages import MESSAGES

ROOT = Path(__file__).resolve().parents[3]
SCREENS = ROOT / "kiosk" / "ui" / "screens"
#: Where the texts are named: every screen, the app, the technician's tools (the maintenance screen's
#: report is worded in kiosk/technician/report.py), and what the kiosk says aloud.
SOURCES = (*sorted(SCREENS.glob("*.kv")), *sorted(SCREENS.glob("*.py")), SCREENS.parent / "app.py",
           *sorted((ROOT / "kiosk" / "technician").glob("*.py")), ROOT / "kiosk" / "core" / "narration.py")
LITERAL_KEY = re.compile(r"""\bt(\.worded|\.plural)?\(\s*['"]([a-z_]+(?:\.[a-z0-9_]+)+)['"]""")
#: Families of keys a screen builds from a value (``t(f"finger.{finger}")``): every key under them can show.
FAMILIES = ("finger.", "motif.", "title.", "secure.", "age.", "question.", "doc.", "cond.", "quality.",
            "identify.", "capture.", "stamp.", "summary.", "receipt.", "confirm.", "checklist.", "signature.",
            "end.", "welcome.", "inactivity.", "cancel.", "common.", "keyboard.", "questions.", "error.",
            "speech.", "help.", "audio.")
#: What the receipt prints and the technician's screens show: not the citizen's screens.
NOT_CITIZEN = ("maintenance.", "commission.", "pin.", "selftest.", "receipt.line", "receipt.heading")


def named_keys() -> set[str]:
    """Every key the :data:`SOURCES` name literally, as the table holds it (a plural as its ``.one`` and
    ``.other`` forms); the technician's included."""
    keys: set[str] = set()
    for path in SOURCES:
        for method, key in LITERAL_KEY.findall(path.read_text(encoding="utf-8")):
            keys |= {f"{key}.one", f"{key}.other"} if method == ".plural" else {key}
    return keys


def citizen_keys() -> set[str]:
    """Every key of the table a citizen's screen can show or the narration say: those named, and every
    key of the families a screen builds from a value; not the technician's screens nor the receipt's."""
    keys = (named_keys() & MESSAGES.keys()) | {k for k in MESSAGES if k.startswith(FAMILIES)}
    return {k for k in keys if not k.startswith(NOT_CITIZEN)}


class _Filled(dict):
    def __missing__(self, key):
        return "3"


def sample_text(key: str, lang: str) -> str:
    """The key's text with every placeholder filled ("3"), as the speech engine would be given it."""
    return string.Formatter().vformat(MESSAGES[key][lang], (), _Filled()).replace("\u00a0", " ")
