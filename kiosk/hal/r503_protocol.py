"""The R503 / R307 sensors' UART protocol, once: for the backend that speaks it and the emulator that answers.

From the sensors' user manuals::

    EF 01 | address (4) | type | length (2, big-endian) | payload | checksum (2)

``type`` is 01 (command), 02 (data), 07 (acknowledgement) or 08 (last data
packet); ``length`` counts the payload and the checksum; the checksum is the
low 16 bits of the sum of the type, the two length bytes and the payload.
Images travel at 4 bits per pixel, two pixels per byte, left pixel high.
"""

from __future__ import annotations

import struct

import numpy as np

START = b"\xef\x01"
BROADCAST = 0xFFFFFFFF  # the address every sensor answers to out of the box
HEADER_BYTES = 9  # start code, address, type, length

COMMAND, DATA, ACK, END_DATA = 0x01, 0x02, 0x07, 0x08

# Instruction codes (the sensors' manuals; adafruit_fingerprint's constants).
GENIMG, IMG2TZ, UPCHAR, UPIMAGE, SETSYSPARA, READSYSPARA = 0x01, 0x02, 0x08, 0x0A, 0x0E, 0x0F
VFYPWD, TEMPLATENUM, AURA, SOFTRESET, GETECHO = 0x13, 0x1D, 0x35, 0x3D, 0x53

# Confirmation codes.
OK, PACKET_ERROR, NO_FINGER, IMAGE_FAIL, IMAGE_MESSY, FEATURE_FAIL = 0x00, 0x01, 0x02, 0x03, 0x06, 0x07
UPCHAR_FAIL, UPLOAD_FAIL, WRONG_PASSWORD, INVALID_IMAGE, BAD_REGISTER = 0x0D, 0x0F, 0x13, 0x15, 0x1A
MODULE_OK = 0x55  # also the lone byte a sensor sends when it has powered up

PACKET_SIZES = (32, 64, 128, 256)  # system parameter 6 (0..3)
#: Image upload size in bytes -> (width, height).
IMAGE_SIZES = {256 * 288 // 2: (256, 288), 192 * 192 // 2: (192, 192)}


def checksum(body: bytes) -> int:
    """Low 16 bits of the byte sum of type, length and payload."""
    return sum(body) & 0xFFFF


def packet(kind: int, payload: bytes, address: int = BROADCAST) -> bytes:
    body = bytes([kind]) + struct.pack(">H", len(payload) + 2) + payload
    return START + struct.pack(">I", address) + body + struct.pack(">H", checksum(body))


def pack_nibbles(image: np.ndarray) -> bytes:
    """8-bit grey to the upload format: the high 4 bits of each pixel, two per byte, left pixel high."""
    grey = np.asarray(image, dtype=np.uint8).reshape(-1)
    return ((grey[0::2] & 0xF0) | (grey[1::2] >> 4)).astype(np.uint8).tobytes()


def unpack_nibbles(data: bytes, width: int, height: int) -> np.ndarray:
    """The upload format as an ``(height, width)`` uint8 image, each level ``n`` as ``17 n`` (0..255)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    grey = np.empty(raw.size * 2, dtype=np.uint8)
    grey[0::2] = raw >> 4
    grey[1::2] = raw & 0x0F
    return (grey * 17).reshape(height, width)
