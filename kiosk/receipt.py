"""The receipt (récépissé): its content, and its layout in ESC/POS, written once.

Whatever the transport (USB on the Pi, a file in simulation), the same
:func:`layout` drives a python-escpos printer object, so what the tests decode
is what a real printer receives. The receipt carries no name and no address:
only the dossier number, a masked pré-demande number, the date and the list
of originals, so a receipt left on the kiosk reveals little. The same
non-personal content is kept in the queue so that a receipt can be reprinted
after the session is wiped.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

from kiosk.i18n import Translator

#: Code page pinned for the printer: CP858 is CP850 with the euro sign, and holds every French accent.
CODEPAGE = "CP858"


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
    printed_at: str  # already formatted for the language: "22/11/2026 14:05"
    dossier_number: str
    predemande_masked: str
    originals: tuple[str, ...]  # translated lines: what to show at the desk
    flags: tuple[str, ...] = ()  # translated lines: what the agent will complete
    language: str = "fr"
    reprint: bool = False
    fees: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "mairie": self.mairie, "address": self.address, "opening_hours": self.opening_hours,
            "printed_at": self.printed_at, "dossier_number": self.dossier_number,
            "predemande_masked": self.predemande_masked, "originals": list(self.originals),
            "flags": list(self.flags), "language": self.language, "reprint": self.reprint, "fees": self.fees,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Receipt":
        return cls(
            mairie=d["mairie"], address=d["address"], opening_hours=d["opening_hours"],
            printed_at=d["printed_at"], dossier_number=d["dossier_number"],
            predemande_masked=d["predemande_masked"], originals=tuple(d["originals"]),
            flags=tuple(d.get("flags", ())), language=d.get("language", "fr"),
            reprint=d.get("reprint", False), fees=d.get("fees", ""),
        )

    def qr_payload(self) -> str:
        """What the agent's desk scanner reads: the dossier number, nothing else."""
        return self.dossier_number


_NBSP = "\u00a0"


def _wrap(text: str, width: int) -> list[str]:
    """Wrap at ``width``, never at the space French puts before ``: ; ! ?`` (a lone ":" line reads as a fault)."""
    glued = re.sub(r" ([:;!?»])", _NBSP + r"\1", text).replace("« ", "«" + _NBSP)
    return [line.replace(_NBSP, " ") for line in textwrap.wrap(glued, width=width)] or [""]


def text_lines(receipt: Receipt, width: int = 32) -> list[str]:
    """The receipt as plain lines: the layout below prints these, and previews show them."""
    t = Translator(receipt.language)
    out: list[str] = []
    out += _wrap(receipt.mairie, width)
    out += _wrap(receipt.address, width)
    out.append("")
    if receipt.reprint:
        out.append(t("receipt.reprint"))
    out += _wrap(t("receipt.heading"), width)
    out.append(f"{t('receipt.date')} : {receipt.printed_at}")
    out.append(f"{t('receipt.predemande')} : {receipt.predemande_masked}")
    out.append("")
    out.append(t("receipt.dossier_number"))
    out.append(receipt.dossier_number)
    out.append("")
    out += _wrap(t("receipt.originals"), width)
    for item in receipt.originals:
        wrapped = _wrap(item, width - 2)
        out.append("- " + wrapped[0])
        out += ["  " + w for w in wrapped[1:]]
    if receipt.fees:
        out += _wrap(receipt.fees, width)
    for flag in receipt.flags:
        out += _wrap("! " + flag, width)
    out.append("")
    out += _wrap(t("receipt.next_steps"), width)
    out += _wrap(receipt.opening_hours, width)
    return out


def layout(receipt: Receipt, p, width: int = 32) -> None:
    """Send the receipt to a python-escpos printer object ``p`` (any transport).

    The dossier number is printed large and as a QR code (native command:
    no ``center=True`` with it) for the agent's desk scanner.
    """
    t = Translator(receipt.language)
    p.hw("INIT")
    p.charcode(CODEPAGE)
    p.set(align="center", bold=True)
    for line in _wrap(receipt.mairie, width):
        p.textln(line)
    p.set(align="center", bold=False)
    for line in _wrap(receipt.address, width):
        p.textln(line)
    p.ln()
    if receipt.reprint:
        p.set(align="center", bold=True, double_height=True)
        p.textln(t("receipt.reprint"))
    # python-escpos 3 sends nothing for double_height=False: only normal_textsize=True resets the size.
    p.set(align="center", bold=True, normal_textsize=True)
    for line in _wrap(t("receipt.heading"), width):
        p.textln(line)
    p.set(align="left", bold=False)
    p.textln(f"{t('receipt.date')} : {receipt.printed_at}")
    p.textln(f"{t('receipt.predemande')} : {receipt.predemande_masked}")
    p.ln()
    p.set(align="center", bold=False)
    p.textln(t("receipt.dossier_number"))
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.textln(receipt.dossier_number)
    p.set(align="center", bold=False, normal_textsize=True)
    p.qr(receipt.qr_payload(), size=6, native=True)
    p.ln()
    p.set(align="left")
    for line in _wrap(t("receipt.originals"), width):
        p.textln(line)
    for item in receipt.originals:
        wrapped = _wrap(item, width - 2)
        p.textln("- " + wrapped[0])
        for w in wrapped[1:]:
            p.textln("  " + w)
    if receipt.fees:
        for line in _wrap(receipt.fees, width):
            p.textln(line)
    for flag in receipt.flags:
        p.set(bold=True)
        for line in _wrap("! " + flag, width):
            p.textln(line)
        p.set(bold=False)
    p.ln()
    for line in _wrap(t("receipt.next_steps"), width):
        p.textln(line)
    for line in _wrap(receipt.opening_hours, width):
        p.textln(line)
    p.ln(2)
    p.cut()
