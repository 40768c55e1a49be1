"""Identifiers: the dossier's machine id (UUIDv7) and its human number.

The UUIDv7 is made at capture time and is the idempotency key end to end:
the outbox row, the sealed blobs and the central service all key on it.

The human number is what the citizen reads aloud at the desk. It is made of
the kiosk's code and the kiosk's own counter, so it is unique by
construction (no birthday-paradox collisions across a fleet), written in
Crockford's base 32 (no I, L, O, U: nothing to confuse with 1, 0 or V) and
ends with a check character that catches every single-character error and
every swap of two adjacent characters.

The check is a Damm-style fold over the field GF(32): ``v ← a·v ⊕ c`` for
each character value ``c``, with ``a`` the field's generator, and the check
character is the one that brings the fold to 0. A substitution changes the
fold by a non-zero amount that multiplication by ``a`` never cancels; a swap
of adjacent ``x, y`` changes it by ``(a ⊕ 1)·(x ⊕ y)``, non-zero whenever
``x ≠ y``. (Luhn mod 32 was used at first, but like Luhn mod 10 with 09/90
it misses the swap of the first and last symbols of the alphabet, 0 and Z.)
"""

from __future__ import annotations

import os
import time
import uuid

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALIASES = {"O": "0", "I": "1", "L": "1", "U": "V"}
COUNTER_DIGITS = 5  # 32**5 = 33 million dossiers per kiosk


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A time-ordered UUID (RFC 9562, version 7): sortable, unique without coordination."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68) << 64  # 12 bits rand_a
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


_GF32_MODULUS = 0b100101  # x^5 + x^2 + 1, primitive: x generates GF(32)


def _times_generator(v: int) -> int:
    """``v·x`` in GF(32)."""
    v <<= 1
    return v ^ _GF32_MODULUS if v & 0b100000 else v


def _fold(chars: str) -> int:
    v = 0
    for ch in chars:
        v = _times_generator(v) ^ ALPHABET.index(ch)
    return v


def check_char(body: str) -> str:
    """The character that brings the fold of ``body`` + itself to 0."""
    return ALPHABET[_times_generator(_fold(body))]


def encode(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, r = divmod(value, 32)
        out.append(ALPHABET[r])
    if value:
        raise ValueError("value does not fit")
    return "".join(reversed(out))


def normalise_kiosk_code(code: str) -> str:
    code = code.strip().upper()
    if not 2 <= len(code) <= 4 or any(c not in ALPHABET for c in code):
        raise ValueError(f"kiosk code must be 2 to 4 characters of {ALPHABET}: {code!r}")
    return code


def dossier_number(kiosk_code: str, counter: int) -> str:
    """``K01`` and counter 42 → ``K01-0001A-3`` (dashes for reading aloud)."""
    body = normalise_kiosk_code(kiosk_code) + encode(counter, COUNTER_DIGITS)
    return f"{body[:-COUNTER_DIGITS]}-{body[-COUNTER_DIGITS:]}-{check_char(body)}"


def normalise_number(text: str) -> str:
    """What a person or a desk scanner typed, back to the canonical form's characters."""
    return "".join(_ALIASES.get(c, c) for c in text.upper() if c.isalnum())


def is_valid_number(text: str) -> bool:
    chars = normalise_number(text)
    if len(chars) < 3 or any(c not in ALPHABET for c in chars):
        return False
    return _fold(chars) == 0
