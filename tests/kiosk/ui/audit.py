"""What a person sees on the kiosk's screen, checked: no clipped text, no overlap, readable contrast.

Run inside the app's own process (``drive_scenarios.py``), on the widgets
actually laid out and the pixels actually drawn:

* **clipped**: each visible label's text is laid out again, unbounded, with
  the label's own font options; it must fit the label's box (a label whose
  text was shortened with "…", or cut at a fixed height, fails), and no word
  may be wider than the line it wraps in (Kivy would break it mid-word:
  "Abando/nner");
* **outside**: each label lies inside every widget that holds it, and inside
  the window (a column taller than its screen pushes its top under the
  header);
* **hidden**: a label of a scroll view is whole in its view, unless the view
  is a long list (``long_list``: the checklist, the summary), which the
  driver scrolls through and audits at each end; with the text enlarged
  (``text_scale`` above 1) every scroll view is one;
* **overlap**: no two visible labels, buttons or pictures share pixels
  unless one holds the other;
* **contrast**: the text's colour (``disabled_color`` when disabled, as Kivy
  draws it, blended by its opacity) against the colour most present behind
  it in the frame just drawn (the palette in use: the usual one or high
  contrast) must reach 4.5:1 (WCAG 2.1 AA for body text,
  asked of every text here, large or not);
* **scrolls**: no button, answer or tick box inside a scroll view: what the
  citizen must touch is never scrolled out of sight (an unanswered question
  below the fold), and a finger that starts a scroll never presses anything.
  One exception, for enlarged text only: a question's answers
  (``KioskScrollView.choices``) may scroll when, at 125 % or 150 %, they no
  longer fit; at the usual size they must fit whole;
* **target** (with the text enlarged, :func:`smaller_targets`): no button is
  lower than it was at the usual size on the same page, unless it is still
  as high as the header's buttons (``u`` × 56: a keypad's big keys that
  give a few pixels to a taller title row, an answer alone on its line);
* **step counter**: "Étape N sur M" is on screen, whole, on every step of a
  citizen's session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kiosk.ui.screens.theme import contrast

#: Pixels of slack for rounding in layouts.
SLACK = 1.5
AA = 4.5
_COLOR_TAG = re.compile(r"\[color=#?([0-9a-fA-F]{6})(?:[0-9a-fA-F]{2})?\]")
_STEP = re.compile(r"^(Étape|Step) \d+ (sur|of) \d+$")


@dataclass(frozen=True)
class Problem:
    kind: str  # clipped, outside, overlap, contrast, counter
    text: str
    detail: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text[:80], "detail": self.detail}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    right: float
    top: float

    @property
    def empty(self) -> bool:
        return self.right - self.x < 1 or self.top - self.y < 1

    def inside(self, other: "Box") -> bool:
        return (self.x >= other.x - SLACK and self.y >= other.y - SLACK and self.right <= other.right + SLACK
                and self.top <= other.top + SLACK)

    def clip(self, other: "Box") -> "Box":
        return Box(max(self.x, other.x), max(self.y, other.y), min(self.right, other.right), min(self.top, other.top))

    def overlap(self, other: "Box") -> float:
        c = self.clip(other)
        return 0.0 if c.empty else (c.right - c.x) * (c.top - c.y)

    def __str__(self) -> str:
        return f"({self.x:.0f},{self.y:.0f})-({self.right:.0f},{self.top:.0f})"


def box(widget) -> Box:
    x, y = widget.to_window(widget.x, widget.y)
    right, top = widget.to_window(widget.right, widget.top)
    return Box(min(x, right), min(y, top), max(x, right), max(y, top))


def _chain(widget, root):
    w = widget.parent
    while w is not None and w is not root and w.parent is not w:
        yield w
        w = w.parent


def _visible(widget, root) -> bool:
    if widget.opacity <= 0.01 or widget.width < 1 or widget.height < 1:
        return False
    return all(w.opacity > 0.01 for w in _chain(widget, root))


def _opacity(widget, root) -> float:
    o = widget.opacity
    for w in _chain(widget, root):
        o *= w.opacity
    return o


def _scroll_of(widget, root):
    from kivy.uix.scrollview import ScrollView

    for w in _chain(widget, root):
        if isinstance(w, ScrollView):
            return w
    return None


def needed_size(label) -> tuple[float, float]:
    """The size ``label``'s text takes with its own font options, unshortened, at its wrapping width."""
    label.texture_update()
    core = label._label
    opts = dict(core.options)
    width = label.text_size[0]
    opts.update(shorten=False, max_lines=0, text_size=(width, None))
    opts.pop("font_name_r", None)
    again = type(core)(**opts)
    again.refresh()
    w, h = again.content_size if hasattr(again, "content_size") else again.texture.size
    return w, h


def _text_colours(label) -> list[tuple[float, float, float, float]]:
    base = tuple(label.disabled_color if label.disabled else label.color)
    out = [base]
    if label.markup:
        for hexa in _COLOR_TAG.findall(label.text):
            out.append(tuple(int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4)) + (base[3],))
    return out


def _background(pixels: np.ndarray, b: Box, fg: tuple[float, float, float]) -> tuple[float, float, float] | None:
    """The colour behind the text in ``b`` (pixels: the frame, rows from the bottom): the one most present."""
    h, w = pixels.shape[:2]
    x0, x1 = int(max(0, b.x)), int(min(w, b.right))
    y0, y1 = int(max(0, b.y)), int(min(h, b.top))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    region = pixels[y0:y1, x0:x1, :3].reshape(-1, 3).astype(np.uint32)
    packed = (region[:, 0] << 16) | (region[:, 1] << 8) | region[:, 2]
    colours, counts = np.unique(packed, return_counts=True)  # one int per colour: a fast 1-D sort
    order = np.argsort(-counts)

    def rgb(i):
        c = colours[i]
        return np.array([(c >> 16) & 255, (c >> 8) & 255, c & 255], dtype=float)

    # The colour most present is the background, unless it is the text's own and another colour covers a
    # good part of the box too (big digits filling their box). A thin border never does: text drawn in its
    # background's colour is judged against that colour, at 1:1.
    first = rgb(order[0])
    fg255 = np.array([round(c * 255) for c in fg])
    if np.abs(first - fg255).max() <= 3 and len(order) > 1 and counts[order[1]] >= 0.25 * len(packed):
        return tuple(rgb(order[1]) / 255)
    return tuple(first / 255)


def labels_on_screen(root):
    """The visible labels (buttons are labels too) under ``root``, top layer only."""
    from kivy.uix.label import Label

    for w in root.walk(restrict=True):
        if isinstance(w, Label) and (w.text or "").strip() and _visible(w, root):
            yield w


def _pictures(root):
    from kiosk.ui.screens.widgets import BusySpinner, CameraPreview, ConsentBox, ProgressSteps, SignaturePad

    kinds = (CameraPreview, SignaturePad, ProgressSteps, BusySpinner, ConsentBox)
    for w in root.walk(restrict=True):
        if isinstance(w, kinds) and _visible(w, root):
            yield w


def _words(text: str) -> set[str]:
    """The words a wrapped text may break between (Kivy wraps at spaces only; markup tags are not text)."""
    return {w for w in re.split(r"[ \n\t]+", re.sub(r"\[/?[a-z]+(?:=[^\]]*)?\]", "", text)) if w}


def widest_word(label) -> tuple[str, float, float]:
    """The widest word of a wrapping ``label``, its width, and the width of the line it wraps in."""
    core = label._label
    opts = core.options
    measure = type(core)(font_size=opts["font_size"], font_name=opts["font_name"],
                         bold=opts["bold"] or (label.markup and "[b]" in label.text), italic=opts["italic"])
    line = label.text_size[0] - opts["padding"][0] - opts["padding"][2]
    word, width = "", 0.0
    for w in _words(label.text):
        ew = measure.get_extents(w)[0]
        if ew > width:
            word, width = w, ew
    return word, width, line


def touch_targets(root) -> dict[int, tuple[float, float, str]]:
    """Every visible control under ``root``: id → (width, height, its text)."""
    from kivy.uix.behaviors import ButtonBehavior

    return {id(w): (w.width, w.height, getattr(w, "text", "") or type(w).__name__)
            for w in root.walk(restrict=True) if isinstance(w, ButtonBehavior) and _visible(w, root)}


#: The lowest touch target of the design, in ``u``: the header's buttons.
TARGET_MIN = 56


def smaller_targets(before: dict, now: dict, u: float) -> list[Problem]:
    """Controls lower now (text enlarged) than ``before`` (the same page at the usual size), and lower than
    the design's lowest target (``u`` × :data:`TARGET_MIN`): a larger text must never cost a touch target."""
    out = []
    for key, (w, h, text) in now.items():
        if key in before and h < min(before[key][1], u * TARGET_MIN) - SLACK:
            out.append(Problem("target", text, f"{w:.0f}x{h:.0f}, was {before[key][0]:.0f}x{before[key][1]:.0f} "
                                               "at the usual text size"))
    return out


def audit(root, window_size, pixels: np.ndarray | None, text_scale: float = 1.0) -> list[Problem]:
    """Everything wrong with what ``root`` shows (the top layer: the root widget, or an open dialog), with
    the text at ``text_scale`` (the app's)."""
    problems: list[Problem] = []
    win = Box(0, 0, window_size[0], window_size[1])
    labels = list(labels_on_screen(root))
    shown: list[tuple[object, Box]] = []
    for label in labels:
        b = box(label)
        scroll = _scroll_of(label, root)
        # Clipped: the text needs more room than its box gives.
        need_w, need_h = needed_size(label)
        # Wrapped or not, the text must fit across too: a word or an address longer than the line spills.
        if need_h > label.height + SLACK or need_w > label.width + SLACK:
            problems.append(Problem("clipped", label.text,
                                    f"needs {need_w:.0f}x{need_h:.0f}, has {label.width:.0f}x{label.height:.0f}"))
        elif label.text_size[0] is not None:
            word, word_w, line_w = widest_word(label)
            if word_w > line_w + SLACK:
                problems.append(Problem("clipped", label.text, f"the word {word!r} ({word_w:.0f} px) is wider "
                                                               f"than its line ({line_w:.0f} px): broken mid-word"))
        # Outside: every holder, up to a scroll view (whose content is taller than the view by design).
        for holder in _chain(label, root):
            if holder is scroll:
                break
            if holder.width >= 1 and holder.height >= 1 and not b.inside(box(holder)):
                problems.append(Problem("outside", label.text,
                                        f"{b} outside {type(holder).__name__} {box(holder)}"))
                break
        visible = b.clip(box(scroll)) if scroll is not None else b
        if scroll is not None and not box(scroll).inside(win):
            problems.append(Problem("outside", label.text, f"its scroll view {box(scroll)} is off the window"))
        long = scroll is not None and (getattr(scroll, "long_list", False) or text_scale > 1)
        if scroll is not None and not long and not b.inside(box(scroll)):
            problems.append(Problem("hidden", label.text, f"{b} is not whole in its scroll view {box(scroll)}: "
                                                          "below the fold"))
        if visible.empty:
            continue  # scrolled out of view: what the view shows is checked when it is scrolled there
        if not visible.inside(win):
            problems.append(Problem("outside", label.text, f"{b} is off the {window_size} window"))
        shown.append((label, visible))
        # Contrast against what is drawn behind the text: where at least half of it shows (a button scrolled
        # nearly out of its view leaves a sliver of its edge, not its background; it is judged where it shows).
        if pixels is not None and (visible.top - visible.y) >= 0.5 * (b.top - b.y):
            opacity = _opacity(label, root)
            for fg in _text_colours(label):
                bg = _background(pixels, visible, fg[:3])
                if bg is None:
                    continue
                a = fg[3] * opacity
                drawn = tuple(a * f + (1 - a) * g for f, g in zip(fg[:3], bg))
                ratio = contrast(drawn, bg)
                if ratio < AA:
                    problems.append(Problem("contrast", label.text,
                                            f"{ratio:.2f}:1, text {_hex(drawn)} on {_hex(bg)}"))
    shown += [(w, box(w).clip(box(_scroll_of(w, root))) if _scroll_of(w, root) else box(w)) for w in _pictures(root)]
    # Scrolls: a control inside a scroll view can be out of sight, and pressed by the touch that starts a scroll.
    from kivy.uix.behaviors import ButtonBehavior

    from kiosk.ui.screens.widgets import ChoiceButton

    for w in root.walk(restrict=True):
        view = _scroll_of(w, root) if isinstance(w, ButtonBehavior) and _visible(w, root) else None
        if view is None:
            continue
        content = view.children[0] if view.children else None
        if (getattr(view, "choices", False) and isinstance(w, ChoiceButton)
                and (text_scale > 1 or content is None or content.height <= view.height + SLACK)):
            continue  # answers, enlarged: they may scroll; at the usual size they fit whole
        problems.append(Problem("scrolls", getattr(w, "text", "") or type(w).__name__,
                                f"a {type(w).__name__} inside a scroll view, at {box(w)}"))
    # Overlap: boxes of things that do not hold one another.
    for i, (a, ba) in enumerate(shown):
        for b_widget, bb in shown[i + 1:]:
            if _related(a, b_widget):
                continue
            area = ba.overlap(bb)
            if area > 4:
                problems.append(Problem("overlap", getattr(a, "text", type(a).__name__),
                                        f"{ba} overlaps {getattr(b_widget, 'text', '') or type(b_widget).__name__!r} "
                                        f"{bb} by {area:.0f} px²"))
    return problems


def _related(a, b) -> bool:
    return any(w is b for w in _ancestors(a)) or any(w is a for w in _ancestors(b))


def _ancestors(w):
    w = w.parent
    while w is not None and w.parent is not w:
        yield w
        w = w.parent


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(c * 255):02X}" for c in rgb[:3])


def step_counter_problems(app) -> list[Problem]:
    """On a citizen's step the counter must be shown, whole, in words."""
    label = app.root.ids.step_counter
    row = app.root.ids.progress_row
    text = label.text or ""
    if row.opacity < 1 or label.opacity < 1 or not _STEP.match(text):
        return [Problem("counter", text, f"the step counter is not shown (row opacity {row.opacity})")]
    need_w, need_h = needed_size(label)
    if need_w > label.width + SLACK or need_h > label.height + SLACK or not box(label).inside(box(row)):
        return [Problem("counter", text, f"the step counter is cut: needs {need_w:.0f}x{need_h:.0f}, "
                                         f"has {label.width:.0f}x{label.height:.0f}")]
    return []
