"""The enrollment code: what the console's QR code holds, so a kiosk's camera can provision it.

A token alone is not enough for a blank kiosk: it must also learn where the
central service is. The console therefore encodes both, as

    kiosque:enrol?v=1&central=<URL, percent-encoded>&token=<token>

one line of text that no pré-demande QR code can be mistaken for (those
hold a bare number), and that a phone's camera does not offer to open as a
web page (the token is a secret until it is used).

A bare token is also accepted, with the central service's URL coming from
the kiosk's configuration (an image built for one préfecture).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

PREFIX = "kiosque:enrol?"
VERSION = "1"

#: What :func:`kiosk.enrollment.new_token` (central) makes: URL-safe base 64, 8 to 100 characters.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,100}")
#: A bare token is at least this long (the console's are 22); a pré-demande number (10) is not one.
BARE_TOKEN_MIN = 16


class EnrollmentCodeError(ValueError):
    """Why a scanned or typed code cannot be used. ``reason`` is a stable key for the screen's message."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class EnrollmentCode:
    central_url: str
    token: str


def format_code(central_url: str, token: str) -> str:
    """The QR code's text for ``token`` on the service at ``central_url``."""
    url = check_central_url(central_url)
    check_token(token)
    return f"{PREFIX}v={VERSION}&central={quote(url, safe='')}&token={token}"


def check_token(token: str) -> str:
    token = token.strip()
    if not _TOKEN.fullmatch(token):
        raise EnrollmentCodeError("bad_token", "an enrollment token is 8 to 100 letters, digits, '-' or '_'")
    return token


def check_central_url(url: str) -> str:
    """``http(s)://host[:port][/path]`` without a trailing slash; anything else is refused before any request."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise EnrollmentCodeError("bad_url", f"not the address of a central service: {url!r}")
    return url


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def check_trusted(url: str, allowed: tuple[str, ...] = ()) -> str:
    """Refuse a service this kiosk must not enroll with, before any request is made.

    Whoever holds a QR code up to a blank kiosk chooses the service it
    enrolls with, and that service hands the kiosk the key its dossiers are
    sealed to. So: only the services the image names (``allowed``, from
    ``directory.allowed_central_urls``) when it names any, and never plain
    ``http`` except on this machine (the demo), where nothing crosses a network.
    """
    url = check_central_url(url)
    if allowed:
        if url not in {a.rstrip("/") for a in allowed}:
            raise EnrollmentCodeError("untrusted", f"{url} is not a central service this kiosk may enroll with")
        return url
    if urlsplit(url).scheme != "https" and urlsplit(url).hostname not in LOOPBACK:
        raise EnrollmentCodeError("insecure", f"{url}: a central service is reached over https")
    return url


def parse_code(text: str, default_central_url: str = "") -> EnrollmentCode:
    """Read a scanned or typed code; a bare token takes ``default_central_url``.

    Raises :class:`EnrollmentCodeError` with ``reason`` ``not_enrollment``
    (some other QR code, such as a pré-demande), ``version`` (a newer
    console), ``bad_url``, ``bad_token`` or ``no_central`` (a bare token and
    no configured service).
    """
    text = text.strip()
    if text.startswith(PREFIX):
        fields = parse_qs(text[len(PREFIX):], keep_blank_values=True)
        version = fields.get("v", [""])[0]
        if version != VERSION:
            raise EnrollmentCodeError("version", f"enrollment code version {version!r}; this kiosk reads {VERSION}")
        return EnrollmentCode(check_central_url(fields.get("central", [""])[0]),
                              check_token(fields.get("token", [""])[0]))
    if _TOKEN.fullmatch(text) and len(text) >= BARE_TOKEN_MIN:
        if not default_central_url:
            raise EnrollmentCodeError("no_central", "a token alone, and no central service configured")
        return EnrollmentCode(check_central_url(default_central_url), text)
    raise EnrollmentCodeError("not_enrollment", "this code is not an enrollment code")
