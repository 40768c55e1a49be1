"""The kiosk's own widgets: buttons, labels, camera preview, signature pad, keypads.

They only display and collect touches; what a touch means is decided by the
screen that owns them, and what it changes is decided by the session. Their
look (colours, sizes) is in ``widgets.kv``; sizes scale with ``app.u``, the
window's height relative to the 800x480 reference screen, and font sizes with
``app.tu`` (``u`` times the text size the citizen chose). What draws in Python
takes its colours from its ``palette`` (bound to ``app.theme`` in kv) and
redraws when it changes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty, ColorProperty, ListProperty, NumericProperty, ObjectProperty, OptionProperty, StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.core.signature import signature_png
from kiosk.ui.screens.theme import NORMAL


# -- buttons and labels (styled in widgets.kv) ---------------------------------
class TextWidth:
    """``text_width``: how wide the text is on one line in the widget's own font. A row shares its width
    out by it (the header's buttons), or chooses its layout by it (the title row)."""

    text_width = NumericProperty(0)

    def __init__(self, **kw):
        super().__init__(**kw)
        for name in ("text", "font_size", "font_name", "bold"):
            self.fbind(name, self._measure)
        self._measure()

    def _measure(self, *_):
        from kivy.core.text import Label as CoreLabel

        font = CoreLabel(font_size=self.font_size, font_name=self.font_name, bold=self.bold)
        self.text_width = font.get_extents(self.text)[0] if self.text else 0


class KioskButton(TextWidth, Button):
    """A flat, rounded button: ``fill`` inside a ``border_rgba`` edge (colours set per kind in widgets.kv)."""

    fill = ColorProperty((0, 0, 0, 0))
    border_rgba = ColorProperty((0, 0, 0, 0))


class PrimaryButton(KioskButton):
    """The one action the citizen is expected to take next: white on blue."""


class SecondaryButton(KioskButton):
    """Another way forward (type instead of scan, show the original at the desk): blue on white."""


class DangerButton(KioskButton):
    """Confirms that everything will be erased."""


class HeaderButton(KioskButton):
    """A button of the blue header. Its share of the header's width is its text's (``size_hint_x`` in
    widgets.kv), so that six of them fit on one row in both languages, even with the text at 150 %.

    ``shown``: Back and Cancel are hidden where there is no way back. ``selected``: a switch that is on
    (Écouter, Contraste) looks pressed, white with blue text.
    """

    shown = BooleanProperty(True)
    selected = BooleanProperty(False)


class KeyButton(KioskButton):
    """A key of an on-screen keyboard or keypad."""


class ChoiceButton(KioskButton):
    """One answer to a question; ``selected`` mirrors the session's answer, never the button's own state."""

    selected = BooleanProperty(False)


class BodyLabel(Label):
    """Wrapped body text whose height follows its content."""


class TitleLabel(TextWidth, Label):
    """The step's title, under the header: beside "Étape N sur M" when both fit on one line, else above it."""


class HeadingLabel(BodyLabel):
    pass


class QuestionHeading(HeadingLabel):
    """A question above its answer buttons."""


class MessageLabel(BodyLabel):
    """The session's message: guidance (``info``) or what went wrong and what to do (``error``)."""

    level = OptionProperty("info", options=["info", "error", "ok"])


class MessageLine(Label):
    """A message on one line of fixed height (under the keyboard, where nothing may move)."""

    level = OptionProperty("info", options=["info", "error", "ok"])


class ConsentBox(ButtonBehavior, BoxLayout):
    """A big tick box with its sentence; the whole row is the touch target."""

    active = BooleanProperty(False)
    text = StringProperty("")


# -- progress -----------------------------------------------------------------
class ProgressSteps(Widget):
    """A row of segments under the header: ``done`` of ``count`` steps filled, the current one marked."""

    count = NumericProperty(8)
    done = NumericProperty(0)
    palette = ObjectProperty(NORMAL)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(pos=self._redraw, size=self._redraw, count=self._redraw, done=self._redraw,
                  palette=self._redraw)

    def _redraw(self, *_):
        theme = self.palette
        self.canvas.clear()
        n = max(1, int(self.count))
        gap = max(2.0, self.width * 0.006)
        seg = (self.width - gap * (n + 1)) / n
        with self.canvas:
            Color(*theme.WHITE)
            Rectangle(pos=self.pos, size=self.size)
            for i in range(n):
                if i < self.done:
                    Color(*theme.BLUE)
                elif i == self.done:
                    Color(*theme.CURRENT)
                else:
                    Color(*theme.LINE)
                Rectangle(pos=(self.x + gap + i * (seg + gap), self.y + self.height * 0.2), size=(seg, self.height * 0.6))


# -- scrolling ---------------------------------------------------------------------
class KioskScrollView(ScrollView):
    """A vertical ScrollView; content shorter than the view stays at the top (see widgets.kv).

    ``long_list``: a list meant to be scrolled through (the checklist, the summary). Anywhere else a
    scroll view is a safety net for an unusually long text, and nothing should wait below its fold, at
    the usual text size; enlarged, a text may need scrolling anywhere.

    ``choices``: a question's answers. Nothing selectable scrolls, except these, and only when the
    citizen enlarged the text so much that they no longer fit (at the usual size they always do).
    """

    long_list = BooleanProperty(False)
    choices = BooleanProperty(False)


# -- busy spinner ----------------------------------------------------------------
class BusySpinner(Widget):
    """A turning arc, so a person sees the kiosk is working. Turns only while ``running``."""

    running = BooleanProperty(False)
    angle = NumericProperty(0)
    palette = ObjectProperty(NORMAL)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._event = None
        self.bind(pos=self._redraw, size=self._redraw, angle=self._redraw, running=self._on_running,
                  palette=self._redraw)

    def _on_running(self, *_):
        if self.running and self._event is None:
            self._event = Clock.schedule_interval(self._turn, 1 / 30)
        elif not self.running and self._event is not None:
            self._event.cancel()
            self._event = None

    def _turn(self, dt):
        self.angle = (self.angle + 300 * dt) % 360

    def _redraw(self, *_):
        theme = self.palette
        self.canvas.clear()
        r = min(self.width, self.height) / 2 * 0.85
        with self.canvas:
            Color(*theme.PALE)
            Line(circle=(self.center_x, self.center_y, r), width=max(2, r * 0.12))
            Color(*theme.BLUE)
            Line(circle=(self.center_x, self.center_y, r, self.angle, self.angle + 100), width=max(2, r * 0.12))


# -- camera preview -------------------------------------------------------------
class CameraPreview(Widget):
    """The camera's luminance frames as a grey texture, fitted, with a framing guide on top.

    ``guide`` is ``"code"`` (a square for the QR code, where the decoder
    looks best) or ``"page"`` (a sheet of paper, portrait).
    """

    guide = OptionProperty("code", options=["code", "page", "none"])
    has_frame = BooleanProperty(False)

    palette = ObjectProperty(NORMAL)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._texture: Texture | None = None
        self._aspect = 4 / 3
        with self.canvas:
            Color(0.10, 0.10, 0.13, 1)
            self._bg = Rectangle()
            Color(1, 1, 1, 1)
            self._image = Rectangle()
            Color(0, 0, 0, 0.55)
            self._guide_shadow = Line(width=4)
            self._guide_colour = Color(*self.palette.GUIDE)
            self._guide = Line(width=2.5)
        self.bind(pos=self._layout, size=self._layout, guide=self._layout)

    def on_palette(self, instance, palette) -> None:
        self._guide_colour.rgba = palette.GUIDE

    def show(self, frame: np.ndarray) -> None:
        """Display one ``(h, w)`` luminance frame, or an ``(h, w, 3)`` RGB picture, uint8 (on the UI thread)."""
        frame = np.asarray(frame)
        if frame.ndim == 2:
            fmt = "luminance"
        elif frame.ndim == 3 and frame.shape[2] == 3:
            fmt = "rgb"
        else:
            return
        h, w = frame.shape[:2]
        if w % 4:  # GL's default row alignment is 4 bytes
            frame = frame[:, : w - w % 4]
            w -= w % 4
        if self._texture is None or tuple(self._texture.size) != (w, h) or self._texture.colorfmt != fmt:
            tex = Texture.create(size=(w, h), colorfmt=fmt)
            tex.flip_vertical()  # NumPy's first row is the top; GL's is the bottom
            self._texture = tex
            self._image.texture = tex
            self._aspect = w / h
        self._texture.blit_buffer(np.ascontiguousarray(frame, dtype=np.uint8).tobytes(),
                                  colorfmt=fmt, bufferfmt="ubyte")
        if not self.has_frame:
            self.has_frame = True
            self._layout()
        self.canvas.ask_update()

    def clear(self) -> None:
        self.has_frame = False
        self._texture = None  # a citizen's picture is not kept in video memory for the next one
        self._image.texture = None
        self._layout()

    def _layout(self, *_):
        self._bg.pos, self._bg.size = self.pos, self.size
        w = min(self.width, self.height * self._aspect)
        h = w / self._aspect
        x = self.x + (self.width - w) / 2
        y = self.y + (self.height - h) / 2
        if self.has_frame:
            self._image.pos, self._image.size = (x, y), (w, h)
        else:
            self._image.size = (0, 0)
        if self.guide == "code":
            side = h * 0.62
            gw, gh = side, side
        elif self.guide == "page":
            gh = h * 0.9
            gw = gh * 0.72
        else:
            self._guide.points = self._guide_shadow.points = []
            return
        gx, gy = x + (w - gw) / 2, y + (h - gh) / 2
        self._guide.rectangle = (gx, gy, gw, gh)
        self._guide_shadow.rectangle = (gx - 1, gy - 1, gw + 2, gh + 2)


# -- signature -----------------------------------------------------------------------
class SignaturePad(Widget):
    """Records finger strokes and draws them; :meth:`to_png` renders the same strokes for the dossier.

    Points are kept relative to the pad (0..1 both ways, origin bottom-left
    as in Kivy), so a resize redraws the signature where it was, and the
    PNG does not depend on the window's size.
    """

    stroke_count = NumericProperty(0)
    ink_width = NumericProperty(3.0)
    palette = ObjectProperty(NORMAL)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.strokes: list[list[tuple[float, float]]] = []
        self._lines: list[Line] = []
        self.bind(pos=self._redraw, size=self._redraw, palette=self._redraw)

    # -- touches -------------------------------------------------------------------
    def _rel(self, pos) -> tuple[float, float]:
        x = min(max(pos[0], self.x), self.right)
        y = min(max(pos[1], self.y), self.top)
        return ((x - self.x) / max(1.0, self.width), (y - self.y) / max(1.0, self.height))

    def on_touch_down(self, touch):
        if not self.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        touch.grab(self)
        self.strokes.append([self._rel(touch.pos)])
        self.stroke_count = len(self.strokes)
        self._redraw()
        return True

    def on_touch_move(self, touch):
        if touch.grab_current is not self:
            return super().on_touch_move(touch)
        if self.strokes:
            self.strokes[-1].append(self._rel(touch.pos))
            self._draw_last()
        return True

    def on_touch_up(self, touch):
        if touch.grab_current is not self:
            return super().on_touch_up(touch)
        touch.ungrab(self)
        return True

    def clear(self) -> None:
        self.strokes = []
        self.stroke_count = 0
        self._redraw()

    # -- drawing ---------------------------------------------------------------------
    def _abs(self, p: tuple[float, float]) -> tuple[float, float]:
        return self.x + p[0] * self.width, self.y + p[1] * self.height

    def _redraw(self, *_):
        self.canvas.after.clear()
        self._lines = []
        with self.canvas.after:
            Color(*self.palette.INK)
            for stroke in self.strokes:
                self._lines.append(self._make_line(stroke))

    def _make_line(self, stroke) -> Line:
        pts = [c for p in stroke for c in self._abs(p)]
        if len(stroke) == 1:
            x, y = pts
            pts = [x, y, x + 0.5, y + 0.5]
        return Line(points=pts, width=self.ink_width, cap="round", joint="round")

    def _draw_last(self):
        if not self._lines:
            self._redraw()
            return
        stroke = self.strokes[-1]
        self._lines[-1].points = [c for p in stroke for c in self._abs(p)]

    # -- export ------------------------------------------------------------------------
    def to_png(self) -> bytes:
        """The strokes as the dossier's black-on-white PNG (its height keeps the pad's proportions), or
        nothing when the pad is blank (:func:`kiosk.core.signature.signature_png`)."""
        return signature_png(self.strokes, self.width / max(1.0, self.height))


# -- keyboards ------------------------------------------------------------------------
#: The pré-demande keyboard: digits, then AZERTY rows (what French users know). "⌫" and "OK" are special.
LETTER_ROWS = ("1234567890", "AZERTYUIOP", "QSDFGHJKLM", "WXCVBN")
BACKSPACE = "<back>"
OK_KEY = "<ok>"


class Keyboard(BoxLayout):
    """Big keys in rows; ``on_key`` receives a character, :data:`BACKSPACE` or :data:`OK_KEY`.

    ``rows_spec`` is a list of rows, each a sequence of keys; with
    ``wide_specials`` the two special keys take the room of two keys.
    """

    rows_spec = ListProperty()
    backspace_label = StringProperty("")
    ok_label = StringProperty("")
    wide_specials = BooleanProperty(True)
    spacing_px = NumericProperty(6)
    special_font_size = NumericProperty(22)

    def __init__(self, on_key: Callable[[str], None] | None = None, **kw):
        kw.setdefault("orientation", "vertical")
        super().__init__(**kw)
        self.on_key = on_key
        self._keys: dict[str, Button] = {}
        # The two special keys' size is the keyboard's, set after their own kv rule's (which follows the
        # same text size): on the next frame, once every binding of a size change has run.
        self._relabel_later = Clock.create_trigger(self._relabel)
        self.bind(rows_spec=self._build, backspace_label=self._relabel, ok_label=self._relabel,
                  spacing_px=self._respace, special_font_size=self._relabel_later)

    def _build(self, *_):
        self.clear_widgets()
        self._keys = {}
        for row in self.rows_spec:
            line = BoxLayout(orientation="horizontal", spacing=self.spacing_px)
            for key in row:
                line.add_widget(self._key(key))
            self.add_widget(line)
        self._respace()
        self._relabel()

    def _respace(self, *_):
        self.spacing = self.spacing_px
        for line in self.children:
            line.spacing = self.spacing_px

    def _key(self, key: str) -> Button:
        special = key in (BACKSPACE, OK_KEY)
        if key == BACKSPACE:
            b = KeyButton(text=self.backspace_label, bold=True, font_size=self.special_font_size)
        elif key == OK_KEY:
            b = PrimaryButton(text=self.ok_label, bold=True, font_size=self.special_font_size)
        else:
            b = KeyButton(text=key)
        b.size_hint = (2 if special and self.wide_specials else 1, 1)
        b.key = key
        self._keys[key] = b
        b.bind(on_release=lambda btn: self.on_key and self.on_key(btn.key))
        return b

    def _relabel(self, *_):
        if BACKSPACE in self._keys:
            self._keys[BACKSPACE].text = self.backspace_label
            self._keys[BACKSPACE].font_size = self.special_font_size
        if OK_KEY in self._keys:
            self._keys[OK_KEY].text = self.ok_label
            self._keys[OK_KEY].font_size = self.special_font_size

    def key_widget(self, key: str) -> Button | None:
        """The button for ``key`` (what a test touches)."""
        return self._keys.get(key)


def group_digits(digits: str, size: int = 4) -> str:
    """``"1234567890"`` → ``"1234 5678 90"``: easier to check against a printed stamp."""
    return " ".join(digits[i:i + size] for i in range(0, len(digits), size))
