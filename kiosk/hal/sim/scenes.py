"""Camera-like frames, rendered: a QR code held up to the lens, a document on the desk, an empty desk.

Pure functions of their arguments (and of ``rng`` for the noise), so the
simulated camera, the scanner tests and the benchmarks see the same
pictures. They imitate what makes real frames hard: a code that is small,
tilted, out of focus, under dim or flat light, on a sensor with noise; a
document photo that is blurred or badly exposed, so that the quality check
(:mod:`kiosk.core.quality`) fails for the reasons it would fail at the kiosk.

Sizes are ``(width, height)`` as PIL has them; arrays come back ``(h, w)``
or ``(h, w, 3)`` as NumPy has them.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from kiosk.hal.testimages import DESK, PAPER
from kiosk.hal.testimages import qr_modules as _qr_modules

SCREEN_PIXELS_ACROSS_CODE = 280  # a recap's code on a phone: about 4 cm of a 450 ppi screen

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
    *,
    tilt_deg: float = 0.0,
    centre: tuple[float, float] = (0.5, 0.5),
    shadow: float = 0.0,
    glare: float = 0.0,
    glare_at: tuple[float, float] = (0.18, -0.15),
    screen: bool = False,
    jpeg_quality: int = 0,
    sheet: bool = False,
) -> np.ndarray:
    """A QR code of ``code_px`` pixels across, on a paper patch, held at ``angle_deg`` over a grey desk.

    Returns the ``(h, w)`` uint8 luminance plane a camera's low-resolution
    stream gives. ``contrast`` below 1 flattens paper and ink (a glossy phone
    screen, a grey photocopy); ``blur`` is a Gaussian radius in pixels.

    The keyword-only effects are what the kiosk's own camera meets, each off
    by default (and none draws from ``rng``, so frames made before they
    existed are unchanged):

    * ``tilt_deg``: the sheet's top edge leans away from the lens, so the
      code is a trapezoid (perspective), not a square;
    * ``centre``: where the code's centre is, as fractions of the frame
      (people do not hold it in the middle of the guide);
    * ``shadow``: depth (0..1) of a soft-edged shadow, a hand or the kiosk's
      hood, whose edge runs across the code: half the code is darker;
    * ``glare``: strength (about 0.5..1.5) of a lamp's reflection on glossy
      paper or glass, a bright spot that clips part of the code to white,
      ``glare_at`` from the code's centre in code widths (it moves when the
      sheet moves);
    * ``screen``: the code is shown on a phone: a dark phone body around a
      lit screen, whose pixel grid, finer than the sensor's, beats with it
      into moiré; combine with ``contrast`` below 1 for the reflections
      that lift an emissive screen's black;
    * ``jpeg_quality``: 1..95, the frame went through a JPEG encoder (a USB
      webcam's MJPG stream, a photo sent by messaging);
    * ``sheet``: the code is printed on a recap sheet, with lines of text
      beside it, above and below, as close as its quiet zone allows: their
      dark strokes are what a detector takes for finder patterns, and what a
      binariser averages the code against (draws from ``rng``).
    """
    rng = _rng(rng)
    w, h = size
    modules = _qr_modules(payload)
    n = modules.shape[0]
    code_px = max(n, int(code_px))
    quiet = max(4 * code_px / n, 0.12 * code_px)  # the quiet zone a printed code has, at least four modules
    ink, paper = (40, 222) if screen else (28, PAPER)
    code = Image.fromarray(np.where(modules, ink, paper).astype(np.uint8)).resize((code_px, code_px), Image.NEAREST)
    if screen:
        patch = _phone(code, quiet, paper)
    elif sheet:
        patch = _sheet(code, quiet, paper, ink, rng)
    else:
        patch_px = int(round(code_px + 2 * quiet))
        patch = Image.new("L", (patch_px, patch_px), paper)
        offset = (patch_px - code_px) // 2
        patch.paste(code, (offset, offset))
    mask = Image.new("L", patch.size, 255)
    if tilt_deg:
        patch, mask = _tilt(patch, tilt_deg), _tilt(mask, tilt_deg)
    if angle_deg:
        patch = patch.rotate(angle_deg, resample=Image.BILINEAR, expand=True, fillcolor=0)
        mask = mask.rotate(angle_deg, resample=Image.BILINEAR, expand=True, fillcolor=0)

    cx, cy = int(round(centre[0] * w)), int(round(centre[1] * h))
    frame = Image.fromarray(np.clip(_background(size), 0, 255).astype(np.uint8))
    frame.paste(patch, (cx - patch.width // 2, cy - patch.height // 2), mask)
    grey = np.asarray(frame, dtype=np.float32)
    if screen:
        region = Image.new("L", size, 0)
        region.paste(mask, (cx - patch.width // 2, cy - patch.height // 2), mask)
        screen_mask = np.asarray(region, dtype=np.float32) / 255.0
        grid = _pixel_grid(size, (cx, cy), angle_deg, pitch=code_px / SCREEN_PIXELS_ACROSS_CODE)
        grey = grey * (1.0 - screen_mask * grid)
    if shadow:
        grey = grey * _shadow(size, (cx, cy), code_px, shadow)
    if glare:
        grey = grey + _glare(size, (cx, cy), code_px, glare, glare_at)
    out = _finish(grey, blur, noise, brightness, contrast, rng)
    return _jpeg(out, jpeg_quality) if jpeg_quality else out


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """PIL's eight PERSPECTIVE coefficients, which map an output point to the input point it samples."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64)).tolist()


def _tilt(img: Image.Image, tilt_deg: float, distance: float = 2.5) -> Image.Image:
    """The picture on a plane turned ``tilt_deg`` about its horizontal axis, seen by a pinhole ``distance`` sides away.

    The far edge comes out narrower and both edges closer together: the
    trapezoid a sheet makes when it is not held square to the lens.
    """
    w, h = img.size
    t = np.radians(tilt_deg)
    d = distance * max(w, h)

    def project(x: float, y: float) -> tuple[float, float]:
        y0 = y - h / 2
        z = d - y0 * np.sin(t)  # y0 < 0 is the top edge: farther away for a positive tilt
        return (x - w / 2) * d / z, y0 * np.cos(t) * d / z

    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    projected = [project(x, y) for x, y in corners]
    xs, ys = [p[0] for p in projected], [p[1] for p in projected]
    left, top = min(xs), min(ys)
    out_w, out_h = int(np.ceil(max(xs) - left)), int(np.ceil(max(ys) - top))
    dst = [(x - left, y - top) for x, y in projected]
    coeffs = _perspective_coeffs(dst, corners)
    return img.transform((out_w, out_h), Image.PERSPECTIVE, coeffs, resample=Image.BILINEAR, fillcolor=0)


def _sheet(code: Image.Image, quiet: float, paper: int, ink: int, rng: np.random.Generator) -> Image.Image:
    """A piece of a printed recap around the code: the code in the middle, lines of words all round it, each line
    a row of dark strokes (words) of a text height about a ninth of the code's, beyond the quiet zone."""
    c = code.width
    margin = int(round(quiet))
    side = int(round(c * 0.9))  # text beside the code on the left and right, a band above and below
    w, h = c + 2 * (margin + side), c + 2 * (margin + int(round(c * 0.35)))
    sheet = np.full((h, w), paper, dtype=np.uint8)
    line_h = max(2, int(round(c / 9)))
    step = int(round(line_h * 1.7))
    top0, left0 = (h - c) // 2, (w - c) // 2
    keep_out = (left0 - margin, top0 - margin, left0 + c + margin, top0 + c + margin)
    for y in range(int(rng.integers(0, step)), h - line_h, step):
        x = int(rng.integers(0, max(1, line_h)))
        while x < w:
            word = int(rng.integers(line_h, 5 * line_h))
            x1 = min(w, x + word)
            for a, b in ((x, min(x1, keep_out[0])), (max(x, keep_out[2]), x1)) \
                    if keep_out[1] - line_h < y < keep_out[3] else ((x, x1),):
                if b > a:  # letters: columns of ink, some of the x-height only, with gaps between
                    strokes = rng.random(b - a) < 0.55
                    tops = np.where(rng.random(b - a) < 0.3, 0, line_h // 3)
                    rows = np.arange(line_h)[:, None]
                    word_ink = strokes[None, :] & (rows >= tops[None, :])
                    region = sheet[y:y + line_h, a:b]
                    region[word_ink] = ink + int(rng.integers(0, 30))
            x = x1 + int(rng.integers(max(1, line_h // 2), line_h + 1))
    img = Image.fromarray(sheet)
    img.paste(code, (left0, top0))
    return img


def _phone(code: Image.Image, quiet: float, lit: int) -> Image.Image:
    """A phone held up with the code on its screen: a near-black body, the lit screen, the code on it."""
    c = code.width
    screen_w = int(round(c + 2 * quiet))
    screen_h = int(round(screen_w * 1.9))
    rim = max(3, int(round(0.07 * screen_w)))
    body = Image.new("L", (screen_w + 2 * rim, screen_h + 3 * rim), 18)
    lit_screen = Image.new("L", (screen_w, screen_h), lit)
    lit_screen.paste(code, ((screen_w - c) // 2, int(round(0.38 * screen_h - c / 2))))
    body.paste(lit_screen, (rim, int(1.5 * rim)))
    return body


def _pixel_grid(size: tuple[int, int], centre: tuple[int, int], angle_deg: float, pitch: float,
                depth: float = 0.35) -> np.ndarray:
    """How much light a phone screen's dark gaps between its pixels take, where the sensor samples it.

    At scanning distance a screen pixel (``pitch``) is smaller than a sensor
    pixel: the sensor samples the grid too coarsely and it aliases into
    bands and checks (moiré) that wander across the code's modules.
    """
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x -= centre[0]
    y -= centre[1]
    a = np.radians(angle_deg)
    u = x * np.cos(a) - y * np.sin(a)
    v = x * np.sin(a) + y * np.cos(a)
    k = np.float32(2 * np.pi / pitch)
    return depth * (0.5 + 0.25 * np.cos(k * u) + 0.25 * np.cos(k * v))


def _shadow(size: tuple[int, int], centre: tuple[int, int], code_px: int, depth: float) -> np.ndarray:
    """Light reaching each pixel (1 = all) when a soft shadow's edge crosses the code at an angle."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.radians(60.0)
    distance = (x - centre[0]) * np.cos(a) + (y - centre[1]) * np.sin(a) + 0.15 * code_px
    softness = max(2.0, 0.08 * code_px)
    return 1.0 - depth / (1.0 + np.exp(-distance / softness))


def _glare(size: tuple[int, int], centre: tuple[int, int], code_px: int, strength: float,
           at: tuple[float, float]) -> np.ndarray:
    """A lamp's reflection: a bright spot on the code that can clip modules to white."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = centre[0] + at[0] * code_px, centre[1] + at[1] * code_px
    sigma = 0.16 * code_px
    return strength * 255.0 * np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * sigma * sigma))


def _jpeg(grey: np.ndarray, quality: int) -> np.ndarray:
    """The frame after a JPEG round trip: 8x8 blocks, ringing at edges, flattened fine detail."""
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as img:
        return np.asarray(img.convert("L"))


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
