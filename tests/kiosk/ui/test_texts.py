"""Every sentence the screens show is in the translation table, in French and in English."""

from __future__ import annotations

from pathlib import Path

import pytest

from titres.messages import MESSAGES
from kiosk.core.journey import TITLE_FOR
from kiosk.core.interview import Question
from kiosk.core.interview import CHOICES, prompt_key
from kiosk.core.session import SessionSettings
from tests.kiosk.ui.texts import named_keys


def _computed_keys() -> set[str]:
    keys = set(TITLE_FOR.values()) | {prompt_key(q) for q in Question}
    keys |= {"confirm.title.child", "confirm.ok.child", "finger.place.child", "confirm.person.child"}
    keys |= {key for choices in CHOICES.values() for key, _ in choices}
    keys |= {f"finger.{f}" for f in SessionSettings().fingers}
    keys |= {f"signature.hint.{s}" for s in ("applicant", "parent", "applicant_or_parent")}
    keys |= {"common.text_size", "common.text_size.current"}  # kiosk.core.legibility.text_size_label
    # The technician's screens: each reason a code or an enrollment is refused, each state of a dossier.
    from kiosk.technician.commissioning import REFUSALS
    from kiosk.sync.outbox import State

    keys |= {f"commission.error.{r}" for r in ("not_enrollment", "version", "bad_url", "bad_token", "no_central",
                                               "untrusted", "insecure", "network", "refused", "unexpected",
                                               "wrong_site")}
    keys |= set(REFUSALS.values()) | {"pin.error.format", "pin.error.weak", "pin.error.mismatch"}
    keys |= {f"maintenance.state.{s.name.lower()}" for s in State}
    return keys


def test_the_screens_name_their_texts_literally():
    keys = named_keys()
    assert len(keys) > 40, "the pattern finds the keys used in .kv and .py files"
    assert {"stamp.count.one", "stamp.count.other"} <= keys, "a plural is named by its forms"


@pytest.mark.parametrize("key", sorted(named_keys() | _computed_keys()))
def test_text_exists_in_french_and_english(key):
    assert key in MESSAGES, f"{key} is not in titres/messages.py"
    assert MESSAGES[key].get("fr") and MESSAGES[key].get("en"), f"{key} lacks a language"


def test_the_kivy_free_parts_of_the_ui_stay_kivy_free():
    """What the tests above import must not start Kivy in the test process (its state would leak)."""
    import subprocess
    import sys

    code = ("import sys, kiosk.ui.screens, kiosk.ui.screens.questions, kiosk.ui.screens.theme, kiosk.core.legibility, "
            "kiosk.ui.jobs; print(sorted(m for m in sys.modules if m.split('.')[0] == 'kivy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == "[]"
