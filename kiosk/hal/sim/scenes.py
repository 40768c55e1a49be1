"""Camera-like frames, rendered: a QR code held up to the lens, a document on the desk, an empty desk.

Pure functions of their arguments (and of ``rng`` for the noise), so the
simulated camera, the scanner tests and the benchmarks see the same
pictures. They imitate what makes real frames hard: a code that is small,
tilted, out of focus, under dim or flat light, on a sensor with noise; a
document photo that is blurred or badly exposed, so that the quality check
(:mod:`kiosk.quality`) fails for the reasons it would fail at the kiosk.

Sizes are ``(width, height)`` as PIL has them; arrays come back ``(h, w)``
or ``(h, w, 3)`` as NumPy has them.
"""

from __future__ import annotations

import functools

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFilter, ImageFont

PAPER = 236  # grey level of white paper under the kiosk light
DESK = 112  # grey level of the desk / background

#: Titles printed on synthetic documents, by the kind of document shown.
DOCUMENT_TITLES = {
    "document": "DOCUMENT",
    "proof_of_address": "FACTURE D'ÉLECTRICITÉ",
    "birth_certificate": "ACTE DE NAISSANCE",
    "declaration": "DÉCLARATION DE PERTE",
    "police_receipt": "RÉCÉPISSÉ DE DÉCLARATION DE VOL",
    "id_card": "CARTE NATIONALE D'IDENTITÉ",
    "passport": "PASSEPORT",
    "judgment": "JUGEMENT",
    "stamp": "TIMBRE FISCAL",
}


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng()


@functools.lru_cache(maxsize=64)
def _qr_modules(payload: str) -> np.ndarray:
    """The code's modules (True = dark), without quiet zone. Cached: the same code is shown frame after frame."""
    qr = qrcode.QRCode(border=0, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


@functools.lru_cache(maxsize=8)
def _font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    names = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf") if bold else ("DejaVuSans.ttf",)
    for name in names:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def _background(size: tuple[int, int], level: float = DESK) -> np.ndarray:
    """A desk under a lamp: brighter in the middle, darker in the corners."""
    w, h = size
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)
    y = np.linspace(-1.0, 1.0, h, dtype=np.float32)
    vignette = 1.0 - 0.18 * (x[None, :] ** 2 + y[:, None] ** 2)
    slope = 1.0 + 0.06 * x[None, :]
    return level * vignette * slope


def _finish(grey: np.ndarray, blur: float, noise: float, brightness: float, contrast: float,
            rng: np.random.Generator) -> np.ndarray:
    """Lens, exposure and sensor, in the order light meets them."""
    out = grey
    if contrast != 1.0:
        out = (out - 128.0) * contrast + 128.0
    if brightness != 1.0:
        out = out * brightness
    if blur > 0:
        img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
        out = np.asarray(img.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float32)
    if noise > 0:
        out = out + rng.standard_normal(out.shape, dtype=np.float32) * noise
    return np.clip(out, 0, 255).astype(np.uint8)


def qr_frame(
    payload: str,
    size: tuple[int, int] = (640, 480),
    code_px: int = 200,
    angle_deg: float = 0.0,
    blur: float = 0.0,
    noise: float = 4.0,
    brightness: float = 1.0,
    contrast: float = 1.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A QR code of ``code_px`` pixels across, on a paper patch, held at ``angle_deg`` over a grey desk.

    Returns the ``(h, w)`` uint8 luminance plane a camera's low-resolution
    stream gives. ``contrast`` below 1 flattens paper and ink (a glossy phone
    screen, a grey photocopy); ``blur`` is a Gaussian radius in pixels.
    """
    rng = _rng(rng)
    w, h = size
    modules = _qr_modules(payload)
    n = modules.shape[0]
    code_px = max(n, int(code_px))
    quiet = max(4 * code_px / n, 0.12 * code_px)  # the quiet zone a printed code has, at least four modules
    patch_px = int(round(code_px + 2 * quiet))

    code = Image.fromarray(np.where(modules, 28, PAPER).astype(np.uint8)).resize((code_px, code_px), Image.NEAREST)
    patch = Image.new("L", (patch_px, patch_px), PAPER)
    offset = (patch_px - code_px) // 2
    patch.paste(code, (offset, offset))
    mask = Image.new("L", patch.size, 255)
    if angle_deg:
        patch = patch.rotate(angle_deg, resample=Image.BILINEAR, expand=True, fillcolor=0)
        mask = mask.rotate(angle_deg, resample=Image.BILINEAR, expand=True, fillcolor=0)

    frame = Image.fromarray(np.clip(_background(size), 0, 255).astype(np.uint8))
    frame.paste(patch, ((w - patch.width) // 2, (h - patch.height) // 2), mask)
    return _finish(np.asarray(frame, dtype=np.float32), blur, noise, brightness, contrast, rng)


def empty_frame(size: tuple[int, int] = (640, 480), rng: np.random.Generator | None = None,
                noise: float = 4.0) -> np.ndarray:
    """Nothing in front of the camera: the desk, its lamp, the sensor's noise."""
    return _finish(_background(size), 0.0, noise, 1.0, 1.0, _rng(rng))


def _draw_photo(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    """An identity photo: light background, a head and shoulders."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(200, 208, 214))
    cx, w, h = (x0 + x1) // 2, x1 - x0, y1 - y0
    draw.ellipse((cx - w * 0.42, y0 + h * 0.72, cx + w * 0.42, y1 + h * 0.4), fill=(52, 58, 80))
    draw.ellipse((cx - w * 0.22, y0 + h * 0.18, cx + w * 0.22, y0 + h * 0.72), fill=(214, 172, 140))
    draw.chord((cx - w * 0.24, y0 + h * 0.12, cx + w * 0.24, y0 + h * 0.5), 180, 360, fill=(70, 50, 36))
    for dx in (-0.09, 0.09):
        draw.ellipse((cx + w * dx - 5, y0 + h * 0.40 - 3, cx + w * dx + 5, y0 + h * 0.40 + 3), fill=(40, 30, 30))


def document_still(
    kind: str = "document",
    size: tuple[int, int] = (2028, 1520),
    blur: float = 0.0,
    brightness: float = 1.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A sheet of paper on the desk, photographed from above: ``(h, w, 3)`` uint8 RGB.

    The sheet carries a title (by ``kind``, see :data:`DOCUMENT_TITLES`; a
    ``photo`` is an identity photo) and lines of text-like marks. ``blur`` is
    a Gaussian radius at full resolution: from about 5 (2 for a photo, which
    has fewer edges) the quality check calls the page blurry. ``brightness``
    scales the exposure: about 0.35 is too dark, about 1.6 clips the paper to
    white (glare).

    Rendered at half resolution and enlarged, which keeps a still near 100 ms
    and does not change what the quality check (at 640 px wide) measures.
    """
    rng = _rng(rng)
    full_w, full_h = size
    w, h = max(2, full_w // 2), max(2, full_h // 2)
    desk = _background((w, h), DESK)
    tint = np.array([1.08, 0.98, 0.86], dtype=np.float32)  # a wooden desk, warm light
    canvas = Image.fromarray(np.clip(desk[..., None] * tint, 0, 255).astype(np.uint8), "RGB")

    sheet_h = int(h * 0.86)
    sheet_w = int(sheet_h * 0.72) if kind != "photo" else int(sheet_h * 0.78)
    sheet = Image.new("RGB", (sheet_w, sheet_h), (PAPER, PAPER, PAPER - 6))
    draw = ImageDraw.Draw(sheet)
    margin = sheet_w // 10
    if kind == "photo":
        _draw_photo(draw, (margin, margin, sheet_w - margin, sheet_h - margin))
    else:
        title = DOCUMENT_TITLES.get(kind, kind.replace("_", " ").upper())
        draw.text((margin, margin // 2), "RÉPUBLIQUE FRANÇAISE", fill=(40, 40, 90), font=_font(max(8, sheet_w // 40)))
        draw.text((margin, margin * 1.1), title, fill=(20, 20, 20), font=_font(max(10, sheet_w // 18), bold=True))
        y = int(margin * 2.4)
        line_h = max(6, sheet_h // 48)
        while y < sheet_h - margin:
            x = margin
            end = sheet_w - margin - int(rng.integers(0, sheet_w // 4))
            while x < end:
                word = int(rng.integers(line_h, line_h * 5))
                draw.rectangle((x, y, min(x + word, end), y + line_h // 2), fill=(45, 45, 50))
                x += word + line_h // 2
            y += line_h + int(rng.integers(0, 2)) * line_h
    angle = float(rng.uniform(-3.0, 3.0))
    mask = Image.new("L", sheet.size, 255).rotate(angle, resample=Image.BILINEAR, expand=True)
    sheet = sheet.rotate(angle, resample=Image.BILINEAR, expand=True)
    canvas.paste(sheet, ((w - sheet.width) // 2, (h - sheet.height) // 2), mask)

    if blur > 0:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur / 2))
    out = np.asarray(canvas, dtype=np.float32)
    if brightness != 1.0:
        out = out * brightness
    out += rng.standard_normal(out.shape[:2], dtype=np.float32)[..., None] * 1.5
    half = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
    return np.asarray(half.resize((full_w, full_h), Image.BILINEAR))


def to_rgb(grey: np.ndarray) -> np.ndarray:
    """A luminance plane as a neutral RGB picture, for stills of grey scenes."""
    return np.repeat(grey[..., None], 3, axis=2)
