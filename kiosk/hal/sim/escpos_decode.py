"""Reading ESC/POS bytes back: text, QR codes, images and cuts, as a thermal printer would print them.

No maintained package renders ESC/POS back to text or image (REFERENCE.md),
and the receipt is only tested if what the printer receives is read back,
so this decoder covers what python-escpos sends for our layout, exactly:

==================  =====================================================
``LF`` / ``CR``     print the line / ignored (as with auto line feed off)
``ESC @``           initialise: modes reset, pending text dropped
``ESC t n``         code page (decoded with :data:`DEFAULT_CODEPAGES`)
``ESC E n``         bold; ``ESC G n`` double strike, shown as bold
``ESC a n``         alignment
``ESC ! n``         print mode (bold, double height and width, underline)
``GS ! n``          character size, 1 to 8 times each way
``ESC - n``         underline; ``ESC M n`` font; ``GS B n`` reverse
``ESC 2`` ``ESC 3 n``  line spacing
``ESC d n`` ``ESC J n``  print and feed lines / dots
``GS V m [n]``      cut
``GS ( k``          2D codes: QR model, size, error correction, store, print
``GS v 0``          raster image (kept as a boolean array, True = black)
``DLE EOT n``       real-time status request (no effect on the paper)
==================  =====================================================

Anything else raises :class:`EscposDecodeError` naming the byte offset:
a command we did not expect in our layout is a finding, not noise.

The line's attributes (bold, size, alignment) are those in force when its
first character was received, which is how our layout uses them.

:func:`split_jobs` follows the same command structure to cut a stream into
tickets where the printer's cutter would: the simulated printer
(``kiosk.hal.sim.usb_printer``) files its jobs with it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

#: ``ESC t n`` → Python codec, as python-escpos's ``default`` profile numbers them (CP858 is 19 there).
DEFAULT_CODEPAGES: dict[int, str] = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865",
                                     16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"}

ESC, GS, DLE, LF, CR = 0x1B, 0x1D, 0x10, 0x0A, 0x0D
_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}

DOTS_PER_LINE = 30  # a line of Font A (24 dots) plus the default spacing
RECEIPT_WIDTH_PX = 384  # 58 mm paper, 48 mm printable at 203 dpi


class EscposDecodeError(ValueError):
    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset


@dataclass(frozen=True)
class Line:
    text: str
    bold: bool = False
    align: str = "left"
    width: int = 1  # character size multipliers
    height: int = 1
    underline: int = 0
    reverse: bool = False


@dataclass(frozen=True)
class QrCode:
    payload: str
    module_size: int = 3
    error_correction: str = "L"
    model: int = 2
    align: str = "left"


@dataclass(frozen=True, eq=False)
class RasterImage:
    bitmap: np.ndarray  # (h, w) bool, True where the printer burns a dot
    align: str = "left"


@dataclass(frozen=True)
class Feed:
    dots: int


@dataclass(frozen=True)
class Cut:
    partial: bool = False


Item = Union[Line, QrCode, RasterImage, Feed, Cut]


@dataclass
class Decoded:
    """What came out of the printer, in order (:attr:`items`), with the views tests ask for."""

    items: list[Item] = field(default_factory=list)
    pending: str = ""  # text received but never printed (no line feed after it)
    status_requests: int = 0

    @property
    def lines(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, Line)]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def bold_lines(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, Line) and i.bold and i.text]

    @property
    def qr_payloads(self) -> list[str]:
        return [i.payload for i in self.items if isinstance(i, QrCode)]

    @property
    def images(self) -> list[np.ndarray]:
        return [i.bitmap for i in self.items if isinstance(i, RasterImage)]

    @property
    def cut(self) -> bool:
        return any(isinstance(i, Cut) for i in self.items)

    def line_items(self) -> list[Line]:
        return [i for i in self.items if isinstance(i, Line)]


def codepages_for_profile(profile: str = "default") -> dict[int, str]:
    """``ESC t`` numbers → Python codecs for a python-escpos printer profile (numbers differ between printers)."""
    from escpos.capabilities import get_profile
    from escpos.codepages import CodePages

    pages: dict[int, str] = {}
    for number, name in get_profile(profile).codePages.items():
        try:
            codec = CodePages.get_encoding(name).get("python_encode")
        except KeyError:
            continue
        if codec:
            pages[int(number)] = codec
    return pages


@dataclass
class _Mode:
    codepage: int = 0
    bold: bool = False
    align: str = "left"
    width: int = 1
    height: int = 1
    underline: int = 0
    reverse: bool = False


class _Reader:
    """One pass over a job. With ``read_text=False`` only the command structure is followed (no code page needed)."""

    def __init__(self, data: bytes, codepages: dict[int, str], *, read_text: bool = True):
        self.data = data
        self.pos = 0
        self.codepages = codepages
        self.read_text = read_text
        self.cut_ends: list[int] = []  # the offset just past each cut command
        self.mode = _Mode()
        self.out = Decoded()
        self.line: list[str] = []
        self.line_mode: _Mode | None = None
        self.qr_model, self.qr_size, self.qr_ec = 2, 3, "L"
        self.qr_data: bytes | None = None

    # --- bytes ------------------------------------------------------------
    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise EscposDecodeError(f"truncated {what}", self.pos)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    # --- printing ---------------------------------------------------------
    def add_text(self, raw: bytes, offset: int) -> None:
        if not self.read_text:
            return
        codec = self.codepages.get(self.mode.codepage)
        if codec is None:
            raise EscposDecodeError(f"text in unknown code page {self.mode.codepage} "
                                    "(pass codepages=codepages_for_profile(...))", offset)
        if not self.line:
            self.line_mode = _Mode(**self.mode.__dict__)
        self.line.append(raw.decode(codec))

    def flush(self, always: bool) -> None:
        """Print the pending line: on LF always (an empty line is a blank line), before a block only if any."""
        if not self.line and not always:
            return
        m = self.line_mode if self.line else self.mode
        self.out.items.append(Line("".join(self.line), m.bold, m.align, m.width, m.height, m.underline, m.reverse))
        self.line = []
        self.line_mode = None

    # --- commands ---------------------------------------------------------
    def esc(self, start: int) -> None:
        cmd = self.byte("ESC command")
        m = self.mode
        if cmd == ord("@"):
            self.mode = _Mode()
            self.line, self.line_mode = [], None
        elif cmd == ord("t"):
            n = self.byte("ESC t")
            if self.read_text and n not in self.codepages:
                raise EscposDecodeError(f"unknown code page {n} (pass codepages=codepages_for_profile(...))", start)
            m.codepage = n
        elif cmd in (ord("E"), ord("G")):
            m.bold = bool(self.byte("ESC E") & 1)
        elif cmd == ord("a"):
            n = self.byte("ESC a")
            if n not in _ALIGN:
                raise EscposDecodeError(f"bad alignment {n}", start)
            m.align = _ALIGN[n]
        elif cmd == ord("!"):
            n = self.byte("ESC !")
            m.bold = bool(n & 0x08)
            m.height = 2 if n & 0x10 else 1
            m.width = 2 if n & 0x20 else 1
            m.underline = 1 if n & 0x80 else 0
        elif cmd == ord("-"):
            n = self.byte("ESC -")
            m.underline = n - 48 if n >= 48 else n
        elif cmd == ord("M"):
            self.byte("ESC M")
        elif cmd == ord("2"):
            pass
        elif cmd == ord("3"):
            self.byte("ESC 3")
        elif cmd == ord("d"):
            n = self.byte("ESC d")
            self.flush(always=False)
            self.out.items.append(Feed(n * DOTS_PER_LINE))
        elif cmd == ord("J"):
            n = self.byte("ESC J")
            self.flush(always=False)
            self.out.items.append(Feed(n))
        else:
            raise EscposDecodeError(f"unsupported command ESC {cmd:#04x} ({chr(cmd)!r})", start)

    def gs(self, start: int) -> None:
        cmd = self.byte("GS command")
        m = self.mode
        if cmd == ord("!"):
            n = self.byte("GS !")
            m.width, m.height = (n >> 4) + 1, (n & 0x0F) + 1
        elif cmd == ord("B"):
            m.reverse = bool(self.byte("GS B") & 1)
        elif cmd == ord("b"):
            self.byte("GS b")
        elif cmd == ord("V"):
            mode = self.byte("GS V")
            if mode in (65, 66, 97, 98, 103, 104):
                self.byte("GS V n")
            elif mode not in (0, 1, 48, 49):
                raise EscposDecodeError(f"bad cut mode {mode}", start)
            self.flush(always=False)
            self.out.items.append(Cut(partial=mode in (1, 49, 66, 98, 104)))
            self.cut_ends.append(self.pos)
        elif cmd == ord("("):
            fn_class = self.byte("GS (")
            if fn_class != ord("k"):
                raise EscposDecodeError(f"unsupported command GS ( {chr(fn_class)!r}", start)
            lo, hi = self.take(2, "GS ( k length")
            self.code_2d(self.take(lo + 256 * hi, "GS ( k data"), start)
        elif cmd == ord("v"):
            if self.byte("GS v") != ord("0"):
                raise EscposDecodeError("unsupported GS v variant", start)
            self.byte("GS v 0 mode")
            xl, xh, yl, yh = self.take(4, "GS v 0 size")
            width_bytes, height = xl + 256 * xh, yl + 256 * yh
            raster = np.frombuffer(self.take(width_bytes * height, "GS v 0 data"), dtype=np.uint8)
            bitmap = np.unpackbits(raster.reshape(height, width_bytes), axis=1).astype(bool)
            self.flush(always=False)
            self.out.items.append(RasterImage(bitmap, m.align))
        else:
            raise EscposDecodeError(f"unsupported command GS {cmd:#04x} ({chr(cmd)!r})", start)

    def code_2d(self, block: bytes, start: int) -> None:
        if len(block) < 2:
            raise EscposDecodeError("GS ( k too short", start)
        cn, fn, rest = block[0], block[1], block[2:]
        if cn != ord("1"):
            raise EscposDecodeError(f"unsupported 2D symbology cn={cn} (only QR, cn=49)", start)
        if fn == ord("A"):
            self.qr_model = rest[0] - 48 if rest else 2
        elif fn == ord("C"):
            self.qr_size = rest[0]
        elif fn == ord("E"):
            self.qr_ec = _QR_EC.get(rest[0], "?")
        elif fn == ord("P"):
            self.qr_data = rest[1:]  # after m = '0'
        elif fn == ord("Q"):
            if self.qr_data is None:
                raise EscposDecodeError("QR print without stored data", start)
            self.flush(always=False)
            self.out.items.append(QrCode(self.qr_data.decode("utf-8"), self.qr_size, self.qr_ec,
                                         self.qr_model, self.mode.align))
        else:
            raise EscposDecodeError(f"unsupported QR function fn={fn}", start)

    def run(self) -> Decoded:
        data = self.data
        while self.pos < len(data):
            start = self.pos
            b = data[start]
            if b >= 0x20:
                end = start
                while end < len(data) and data[end] >= 0x20:
                    end += 1
                self.add_text(data[start:end], start)
                self.pos = end
                continue
            self.pos += 1
            if b == LF:
                self.flush(always=True)
            elif b == CR:
                pass
            elif b == ESC:
                self.esc(start)
            elif b == GS:
                self.gs(start)
            elif b == DLE:
                if self.byte("DLE command") != 0x04:
                    raise EscposDecodeError("unsupported DLE command", start)
                self.byte("DLE EOT n")
                self.out.status_requests += 1
            else:
                raise EscposDecodeError(f"unsupported control byte {b:#04x}", start)
        self.out.pending = "".join(self.line)
        return self.out


def decode(data: bytes, codepages: dict[int, str] | None = None) -> Decoded:
    """Decode a job. ``codepages`` maps ``ESC t`` numbers to codecs (see :func:`codepages_for_profile`)."""
    return _Reader(bytes(data), DEFAULT_CODEPAGES if codepages is None else codepages).run()


def decode_file(path: Path | str, codepages: dict[int, str] | None = None) -> Decoded:
    return decode(Path(path).read_bytes(), codepages)


_CUT = re.compile(rb"\x1dV(?:[\x00\x01\x30\x31]|[\x41\x42\x61\x62\x67\x68].)", re.DOTALL)


def split_jobs(data: bytes) -> tuple[list[bytes], bytes]:
    """``(jobs, rest)``: each complete job (up to and including its cut) in ``data``, and what follows the last cut.

    What a printer with a cutter does with its input, and what the simulated
    printer files each ticket by. The command structure is followed, so the
    bytes of a cut inside an image or a QR code's data do not cut. Past a
    command this decoder does not know (which a real printer would still
    print), the cut's bytes are searched for as they are.
    """
    data = bytes(data)
    reader = _Reader(data, {}, read_text=False)
    try:
        reader.run()
        ends = reader.cut_ends
    except EscposDecodeError as exc:
        ends = reader.cut_ends + [m.end() for m in _CUT.finditer(data, exc.offset)]
    jobs, start = [], 0
    for end in ends:
        jobs.append(data[start:end])
        start = end
    return jobs, data[start:]


# --- preview ------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _mono_font(bold: bool):
    from PIL import ImageFont

    names = ("DejaVuSansMono-Bold.ttf", "NotoSansMono-Bold.ttf") if bold else ("DejaVuSansMono.ttf", "NotoSansMono-Regular.ttf")
    for name in names:
        try:
            return ImageFont.truetype(name, 20)  # 12 px advance: 32 columns on 384 px, like Font A
        except OSError:
            continue
    return ImageFont.load_default()


def _place(width: int, item_width: int, align: str) -> int:
    if align == "center":
        return max(0, (width - item_width) // 2)
    if align == "right":
        return max(0, width - item_width)
    return 0


def render_png(decoded: Decoded, path: Path | str, width_px: int = RECEIPT_WIDTH_PX) -> Path:
    """A picture of the receipt as printed on 58 mm paper: for previews, and for decoding its QR in tests.

    Text is drawn in a monospaced font at the printer's 12 x 24 dot cell and
    enlarged by the character size; QR codes are redrawn from their payload
    at their module size, with a quiet zone, where the printer put them.
    """
    import qrcode
    from PIL import Image, ImageDraw

    cell_w, cell_h = 12, 24
    blocks: list[tuple[Image.Image, str]] = []
    for item in decoded.items:
        if isinstance(item, Line):
            cols = max(1, len(item.text))
            img = Image.new("L", (cols * cell_w, cell_h + 6), 255)
            ImageDraw.Draw(img).text((0, 2), item.text, fill=0, font=_mono_font(item.bold))
            if item.reverse:
                img = Image.eval(img, lambda v: 255 - v)
            if item.width != 1 or item.height != 1:
                img = img.resize((img.width * item.width, img.height * item.height), Image.NEAREST)
            blocks.append((img, item.align))
        elif isinstance(item, QrCode):
            ec = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
                  "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}.get(
                item.error_correction, qrcode.constants.ERROR_CORRECT_L)
            qr = qrcode.QRCode(border=4, box_size=max(1, item.module_size), error_correction=ec)
            qr.add_data(item.payload)
            qr.make(fit=True)
            blocks.append((qr.make_image().get_image().convert("L"), item.align))
        elif isinstance(item, RasterImage):
            bitmap = Image.fromarray(np.where(item.bitmap, 0, 255).astype(np.uint8))
            blocks.append((bitmap, item.align))
        elif isinstance(item, Feed):
            blocks.append((Image.new("L", (1, max(1, item.dots)), 255), "left"))
        elif isinstance(item, Cut):
            cut = Image.new("L", (width_px, 9), 255)
            draw = ImageDraw.Draw(cut)
            for x in range(0, width_px, 12):
                draw.line((x, 4, x + 6, 4), fill=0)
            blocks.append((cut, "left"))

    height = sum(img.height for img, _ in blocks) + 16
    page = Image.new("L", (width_px, max(height, 1)), 255)
    y = 8
    for img, align in blocks:
        if img.width > width_px:  # text wider than the paper: the printer would wrap, the preview crops
            img = img.crop((0, 0, width_px, img.height))
        page.paste(img, (_place(width_px, img.width, align), y))
        y += img.height
    path = Path(path)
    page.save(path, format="PNG")
    return path
