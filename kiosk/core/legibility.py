"""What the citizen chose to read the screen better: a larger text, high contrast. No Kivy.

EN 301 549 5.1.4 asks a closed terminal for enlargeable text; people who
need it also often need more contrast. The header offers both, one touch
each: "Texte plus grand" cycles 100 % → 125 % → 150 % → 100 %, "Contraste"
switches the high-contrast palette on and off.

The choice lasts for **one citizen's session only**: the next person at the
kiosk is not the one who needed it, and a kiosk left at 150 % in yellow on
black would puzzle them (and the screen would carry a trace of the last
citizen). So a :class:`Legibility` remembers the session ``generation`` it
was chosen in, and :meth:`Legibility.for_session` gives the default back as
soon as the generation changes (a session ended, cancelled, abandoned).
A choice made on the welcome screen counts for the session it starts: the
generation changes when a session is wiped, not when it starts.

The app holds the current value and shows it (``app.text_scale``,
``app.theme``); screens never decide anything about it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

#: The text sizes offered, in the order one button cycles through them.
TEXT_SCALES = (1.0, 1.25, 1.5)


@dataclass(frozen=True)
class Legibility:
    text_scale: float = 1.0
    high_contrast: bool = False
    #: The session (``Session.generation``) this choice was made in.
    generation: int = 0

    def for_session(self, generation: int) -> "Legibility":
        """This choice if it was made in session ``generation``, else the default, for that session."""
        return self if generation == self.generation else Legibility(generation=generation)

    def larger_text(self) -> "Legibility":
        """The next size of the cycle; after the largest, the usual size again."""
        i = TEXT_SCALES.index(self.text_scale) if self.text_scale in TEXT_SCALES else -1
        return replace(self, text_scale=TEXT_SCALES[(i + 1) % len(TEXT_SCALES)])

    def contrast_switched(self) -> "Legibility":
        return replace(self, high_contrast=not self.high_contrast)

    @property
    def is_default(self) -> bool:
        return self.text_scale == TEXT_SCALES[0] and not self.high_contrast


def text_size_label(t: Callable[..., str], text_scale: float) -> str:
    """What the text-size button says. At the usual size, what it does ("Texte plus grand"): a person who
    needs it reads what it is for. Once the text is larger, the size it is at ("Texte 125 %"), as a
    switch shows its state; the next touch's effect is seen at once, and the label stays one short line
    that fits the header even at 150 %."""
    if text_scale == TEXT_SCALES[0]:
        return t("common.text_size")
    return t("common.text_size.current", percent=round(text_scale * 100))
