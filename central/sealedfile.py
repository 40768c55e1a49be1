"""A file of any size sealed to the service's own public key, written and read as a stream.

The backup's database holds what the sealed parts do not: names, birth
dates, the pré-demandes. It is sealed the way the kiosks seal a dossier, to
the service's sealing key, so a backup kept apart from that key reveals
nothing to whoever takes it, and restoring needs the key the service needs
anyway. A database does not fit in memory the way a part does, so the file
is a libsodium *secretstream* (XChaCha20-Poly1305, chunk by chunk, the last
chunk tagged: a truncated file is refused) under a random key, and that key
is sealed (``SealedBox``) to the service's public key.

Layout: :data:`MAGIC`, the sealed stream key (80 bytes), the stream's
header (24 bytes), then chunks, each its ciphertext's length (4 bytes, big
endian) and the ciphertext.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Iterable, Iterator

from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

MAGIC = b"kiosk-central sealed file 1\n"
CHUNK = 1 << 20
_SEALED_KEY = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES + sodium.crypto_box_SEALBYTES
_HEADER = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE


class NotSealedToUs(ValueError):
    """Damaged, truncated, not such a file, or sealed to another key."""


def _rechunk(blocks: Iterable[bytes]) -> Iterator[bytes]:
    pending = bytearray()
    for block in blocks:
        pending += block
        while len(pending) >= CHUNK:
            yield bytes(pending[:CHUNK])
            del pending[:CHUNK]
    yield bytes(pending)  # the last chunk, possibly empty: it carries the final tag


def seal(blocks: Iterable[bytes], public_key: PublicKey, out: BinaryIO) -> None:
    """Write ``blocks`` (of any sizes) to ``out`` sealed to ``public_key``."""
    key = os.urandom(sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    out.write(MAGIC + SealedBox(public_key).encrypt(key) + header)
    chunks = _rechunk(blocks)
    chunk = next(chunks)
    for following in chunks:
        _write_chunk(out, sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, None, _MESSAGE))
        chunk = following
    _write_chunk(out, sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, None, _FINAL))


def _write_chunk(out: BinaryIO, ciphertext: bytes) -> None:
    out.write(len(ciphertext).to_bytes(4, "big") + ciphertext)


def _read_exactly(f: BinaryIO, size: int) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise NotSealedToUs("the sealed file is truncated")
    return data


def unseal(f: BinaryIO, private_key: PrivateKey) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; raises :class:`NotSealedToUs` (possibly after some chunks:
    a caller writes them somewhere it discards on failure)."""
    if f.read(len(MAGIC)) != MAGIC:
        raise NotSealedToUs("not a sealed file")
    try:
        key = SealedBox(private_key).decrypt(_read_exactly(f, _SEALED_KEY))
    except CryptoError:
        raise NotSealedToUs("the file is sealed to another key") from None
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, _read_exactly(f, _HEADER), key)
    while True:
        size = int.from_bytes(_read_exactly(f, 4), "big")
        if not _ABYTES <= size <= CHUNK + _ABYTES:
            raise NotSealedToUs("the sealed file is damaged")
        try:
            chunk, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, _read_exactly(f, size), None)
        except CryptoError:
            raise NotSealedToUs("the sealed file is damaged") from None
        yield chunk
        if tag == _FINAL:
            if f.read(1):
                raise NotSealedToUs("the sealed file has data after its end")
            return
