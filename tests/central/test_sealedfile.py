"""A file sealed to the service's key (``central.sealedfile``): what goes in comes out, in chunks; a file cut
short, changed, extended or sealed to another key is refused, never half believed."""

from __future__ import annotations

import io
import os

import pytest
from nacl.public import PrivateKey

from central import sealedfile

KEY = PrivateKey.generate()


def _sealed(blocks) -> bytes:
    out = io.BytesIO()
    sealedfile.seal(blocks, KEY.public_key, out)
    return out.getvalue()


def _opened(data: bytes, key: PrivateKey = KEY) -> bytes:
    return b"".join(sealedfile.unseal(io.BytesIO(data), key))


@pytest.mark.parametrize("size", [0, 1, sealedfile.CHUNK, 2 * sealedfile.CHUNK + 12345])
def test_what_is_sealed_opens_whole_whatever_its_size_and_blocks(size):
    plain = os.urandom(size)
    blocks = [plain[i:i + 70000] for i in range(0, size, 70000)]  # blocks that are not the chunks
    sealed = _sealed(blocks)
    if size >= 16:  # a byte or two of random ciphertext may equal a short plaintext by chance
        assert plain not in sealed
    assert _opened(sealed) == plain


def test_the_file_reveals_nothing_of_what_it_holds():
    plain = b"DUPONT Marie 1984-03-12 " * 1000
    assert b"DUPONT" not in _sealed([plain])


@pytest.mark.parametrize("damage", ["cut", "flip", "extend", "other key", "not sealed"])
def test_a_damaged_or_foreign_file_is_refused(damage):
    sealed = _sealed([os.urandom(3 * sealedfile.CHUNK // 2)])
    key = KEY
    if damage == "cut":
        sealed = sealed[:-100]
    elif damage == "flip":
        middle = len(sealed) // 2
        sealed = sealed[:middle] + bytes([sealed[middle] ^ 1]) + sealed[middle + 1:]
    elif damage == "extend":
        sealed += b"more"
    elif damage == "other key":
        key = PrivateKey.generate()
    else:
        sealed = b"SQLite format 3\0" + sealed[16:]
    with pytest.raises(sealedfile.NotSealedToUs):
        _opened(sealed, key)


def test_the_last_chunk_cut_at_a_boundary_is_still_a_truncation():
    """A file cut right after a whole chunk lacks the final tag: refused, not taken as complete."""
    sealed = _sealed([os.urandom(2 * sealedfile.CHUNK)])
    head = len(sealedfile.MAGIC) + 80 + 24
    first = head + 4 + int.from_bytes(sealed[head:head + 4], "big")
    with pytest.raises(sealedfile.NotSealedToUs):
        _opened(sealed[:first])
