"""The receipt (le reçu, the one word the kiosk, the status page and the console use for it): its
content, and its layout in ESC/POS, written once.

Whatever the transport (USB on the Pi, a file in simulation), the same
:func:`layout` drives a python-escpos printer object, so what the tests decode
is what a real printer receives. The receipt carries no name and no address:
only the dossier number, a masked pré-demande number, the date and the list
of originals, so a receipt left on the kiosk reveals little. The same
non-personal content is kept in the queue so that a receipt can be reprinted
after the session is wiped.
"""

from __future__ import annotations

import functools
import textwrap
import unicodedata
from dataclasses import dataclass
from typing import Any, Union

from titres.i18n import Translator
from titres.messages import NBSP as _NBSP
from titres.messages import french_spacing

#: What French needs on paper: the accents, the ligatures, guillemets, the euro sign and the
#: typographic marks of our texts. A printer's code page is chosen on how many of these it has
#: (``kiosk.hal.escpos_printer.french_codepage``); the tests print every one of them.
FRENCH_CHARACTERS = "àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ«»€’…–—°"

#: How a character the code page lacks is spelled instead (python-escpos would print "?").
#: Accented letters not listed lose their accent (NFKD), which French readers accept on capitals.
SPELLED_OUT = {
    "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "Ÿ": "Y", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ı": "i", "€": "EUR", "«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‘": "'",
    "’": "'", "‚": ",", "…": "...", "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "°": "o", "×": "x",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
}
#: What stands for a character that has no spelling in the code page at all (never "?", which reads as a fault).
UNPRINTABLE = "_"


@dataclass(frozen=True)
class PrintFormat:
    """How one printer prints: columns, code page, QR code. Chosen once per printer from its
    python-escpos profile and the configuration (``kiosk.hal.escpos_printer.print_format``).

    ``qr`` is ``native`` (the printer's ``GS ( k`` command), ``image`` (a raster image, for
    printers without it) or ``none`` (a printer that can do neither: the number is printed large
    anyway). ``paper_dots`` is the printable width, to centre an image.
    ``spelled_out`` lists the :data:`FRENCH_CHARACTERS` the code page lacks.
    """

    width: int = 32
    codepage: str = "CP1252"  # python-escpos's name for it, sent as ESC t n with the profile's n
    codec: str = "cp1252"  # the same table as a Python codec, to know what it can print
    qr: str = "native"
    paper_dots: int = 384
    spelled_out: str = ""
    #: A cutter: the paper is fed just to it and cut. Without one, it is fed past the tear bar.
    cutter: bool = True


@functools.lru_cache(maxsize=4096)
def _in_codepage(ch: str, codec: str) -> bool:
    if ch < "\x80":
        return ch >= " "
    try:
        return len(ch.encode(codec)) == 1
    except UnicodeEncodeError:
        return False


def printable(text: str, codec: str) -> str:
    """``text`` as a printer in ``codec`` can print it: what the code page lacks is spelled out.

    ``œ`` becomes ``oe``, ``€`` ``EUR``, ``Ÿ`` ``Y``, ``Ł`` ``L``: python-escpos would print
    ``?`` for each, which a citizen reads as a fault. Control characters become spaces. Apply
    it before wrapping: a spelling may be longer than the character.
    """
    out: list[str] = []
    for ch in text:
        if _in_codepage(ch, codec):
            out.append(ch)
            continue
        if ch < " " or ch == "\x7f":
            out.append(" ")
            continue
        spelled = SPELLED_OUT.get(ch)
        if spelled is None:
            spelled = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append("".join(c if _in_codepage(c, codec) else SPELLED_OUT.get(c, UNPRINTABLE) for c in spelled)
                   or UNPRINTABLE)
    return "".join(out)


def mask_predemande(number: str) -> str:
    """``AB12CD34EF`` → ``AB******EF``: enough for the citizen to recognise it, not to reuse it."""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]


@dataclass(frozen=True)
class Receipt:
    mairie: str
    address: str
    opening_hours: str
    printed_at: str  # already formatted, in the mairie's time zone: "22/11/2026 14:05"
    dossier_number: str
    predemande_masked: str
    originals: tuple[str, ...]  # translated lines: what to show at the desk
    flags: tuple[str, ...] = ()  # translated lines: what the agent will complete or decide at the desk
    language: str = "fr"
    reprint: bool = False
    fees: str = ""
    status_url: str = ""  # the citizen's status page, where the dossier number is followed
    presence: tuple[str, ...] = ()  # translated lines: who comes to the desk, what is paid there

    def as_dict(self) -> dict[str, Any]:
        return {
            "mairie": self.mairie, "address": self.address, "opening_hours": self.opening_hours,
            "printed_at": self.printed_at, "dossier_number": self.dossier_number,
            "predemande_masked": self.predemande_masked, "originals": list(self.originals),
            "flags": list(self.flags), "language": self.language, "reprint": self.reprint, "fees": self.fees,
            "status_url": self.status_url, "presence": list(self.presence),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Receipt":
        return cls(
            mairie=d["mairie"], address=d["address"], opening_hours=d["opening_hours"],
            printed_at=d["printed_at"], dossier_number=d["dossier_number"],
            predemande_masked=d["predemande_masked"], originals=tuple(d["originals"]),
            flags=tuple(d.get("flags", ())), language=d.get("language", "fr"),
            reprint=d.get("reprint", False), fees=d.get("fees", ""), status_url=d.get("status_url", ""),
            presence=tuple(d.get("presence", ())),
        )

    def qr_payload(self) -> str:
        """What the agent's desk scanner reads: the dossier number, nothing else."""
        return self.dossier_number


def _wrap(text: str, width: int) -> list[str]:
    """Wrap at ``width``, never at the space French puts before ``: ; ! ?`` (a lone ":" line reads as a fault)."""
    glued = french_spacing(text)
    # Not at hyphens either: "Lundi-vendredi" and "14011*02-…" stay whole where they fit.
    lines = textwrap.wrap(glued, width=width, break_on_hyphens=False)
    return [line.replace(_NBSP, " ") for line in lines] or [""]


def paper_lines(text: str, fmt: PrintFormat, width: int | None = None) -> list[str]:
    """``text`` made printable in ``fmt``'s code page, then wrapped to the paper (or ``width``) columns."""
    return _wrap(printable(text, fmt.codec), width or fmt.width)


# --- the layout, once: what is printed and what previews show come from the same blocks ----------
@dataclass(frozen=True)
class _Text:
    lines: tuple[str, ...]
    align: str = "left"
    bold: bool = False
    size: str = "normal"  # "normal", "tall" (double height), "large" (double width and height)


@dataclass(frozen=True)
class _Blank:
    lines: int = 1


@dataclass(frozen=True)
class _Qr:
    payload: str


_Block = Union[_Text, _Blank, _Qr]


def _blocks(receipt: Receipt, fmt: PrintFormat) -> list[_Block]:
    t = Translator(receipt.language)
    width = fmt.width

    def wrap(text: str, w: int = width) -> tuple[str, ...]:
        return tuple(paper_lines(text, fmt, w))

    def items(texts, w: int = width) -> tuple[str, ...]:
        out: list[str] = []
        for item in texts:
            wrapped = wrap(item, w - 2)
            out += ["- " + wrapped[0]] + ["  " + line for line in wrapped[1:]]
        return tuple(out)

    blocks: list[_Block] = [
        _Text(wrap(receipt.mairie), "center", bold=True),
        _Text(wrap(receipt.address), "center"),
        _Blank(),
    ]
    if receipt.reprint:
        blocks.append(_Text(wrap(t("receipt.reprint")), "center", bold=True, size="tall"))
    blocks += [
        _Text(wrap(t("receipt.heading")), "center", bold=True),
        _Text(wrap(t("receipt.date", date=receipt.printed_at))
              + wrap(t("receipt.predemande", number=receipt.predemande_masked))),
        _Blank(),
        _Text(wrap(t("receipt.dossier_number")), "center"),
        _Text(wrap(receipt.dossier_number, width // 2), "center", bold=True, size="large"),
    ]
    if fmt.qr != "none":
        blocks.append(_Qr(receipt.qr_payload()))
    blocks += [_Blank(), _Text(wrap(t("receipt.originals")) + items(receipt.originals))]
    if receipt.fees:
        blocks.append(_Text(wrap(receipt.fees)))
    for line in receipt.presence:
        blocks.append(_Text(wrap(line)))
    for flag in receipt.flags:
        blocks.append(_Text(wrap("! " + flag), bold=True))
    blocks += [_Blank(), _Text(wrap(t("receipt.next_steps")))]
    if receipt.opening_hours:
        blocks.append(_Text(wrap(t("receipt.hours", hours=receipt.opening_hours))))
    if receipt.status_url:
        # An address cut at the paper's edge still reads whole: wrapped on its own, at any character.
        blocks.append(_Text(wrap(t("receipt.status")) + _chunks(printable(receipt.status_url, fmt.codec), width)))
    return blocks


def _chunks(text: str, width: int) -> tuple[str, ...]:
    return tuple(text[i:i + width] for i in range(0, len(text), width)) or ("",)


def text_lines(receipt: Receipt, fmt: PrintFormat = PrintFormat()) -> list[str]:
    """The receipt as plain lines, exactly as :func:`layout` prints them: for previews and tests."""
    out: list[str] = []
    for block in _blocks(receipt, fmt):
        if isinstance(block, _Text):
            out += block.lines
        elif isinstance(block, _Blank):
            out += [""] * block.lines
    return out


def start_job(p, fmt: PrintFormat) -> None:
    """Reset the printer and select the code page: the first thing every job sends.

    ``ESC @`` puts the printer back on its code page 0, but python-escpos
    remembers the page it last selected on this connection and would not
    send ``ESC t`` again: the second receipt would print its accents in the
    wrong table. Forgetting it makes the selection go out with every job.
    """
    p.hw("INIT")
    p.magic.encoding = None
    p.charcode(fmt.codepage)


def print_qr(p, payload: str, fmt: PrintFormat, size: int = 6) -> None:
    """The QR code as ``fmt`` says: the printer's own command, or a raster image centred on the paper.

    The native command is centred by the alignment already set (python-escpos
    refuses ``center=True`` with it); an image is padded to the paper width,
    as not every printer applies ``ESC a`` to raster images.
    """
    if fmt.qr == "native":
        p.qr(payload, size=size, native=True)
    elif fmt.qr == "image":
        p.qr(payload, size=size, native=False, image_arguments={"center": True})


def layout(receipt: Receipt, p, fmt: PrintFormat = PrintFormat()) -> None:
    """Send the receipt to a python-escpos printer object ``p`` (any transport), as ``fmt`` says.

    The dossier number is printed large and as a QR code for the agent's
    desk scanner. Every text goes through :func:`printable` for the chosen
    code page before it is wrapped.
    """
    start_job(p, fmt)
    for block in _blocks(receipt, fmt):
        if isinstance(block, _Text):
            # python-escpos 3 sends nothing for double_height=False: only normal_textsize=True resets the size.
            p.set(align=block.align, bold=block.bold, normal_textsize=block.size == "normal",
                  double_height=block.size in ("tall", "large"), double_width=block.size == "large")
            for line in block.lines:
                p.textln(line)
        elif isinstance(block, _Blank):
            p.ln(block.lines)
        else:
            p.set(align="center", bold=False, normal_textsize=True)
            print_qr(p, block.payload, fmt)
    finish_job(p, fmt)


#: Lines fed after the text of a printer without a cutter, to bring it past the tear bar.
TEAR_FEED_LINES = 4


def finish_job(p, fmt: PrintFormat) -> None:
    """End a job where the paper leaves the printer, with no blank tail beyond what that needs.

    With a cutter: feed just to it and cut there (GS V 66 0, python-escpos's ``cut(feed=False)``),
    not six lines more as ``cut()`` does; the partial cut leaves the receipt hanging by a tab until
    the citizen takes it, not on the floor. Without one (no GS V, which such printers ignore or
    print as garbage): feed the text past the tear bar.
    """
    if fmt.cutter:
        p.cut(feed=False)
    else:
        p.print_and_feed(TEAR_FEED_LINES)
