"""The service's two key pairs: one that opens sealed dossiers, one that signs acknowledgements.

They live as files in ``<data>/keys`` (mode 0600), made once. Several
processes may start together: the first to create a file wins (``O_EXCL``)
and the others read it, so every process holds the same keys. A deployment
with several hosts ships the same files to each (docs/central.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey


@dataclass(frozen=True)
class ServiceKeys:
    sealing: PrivateKey
    signing: SigningKey

    @property
    def sealing_public_hex(self) -> str:
        return bytes(self.sealing.public_key).hex()

    @property
    def verify_hex(self) -> str:
        return bytes(self.signing.verify_key).hex()


def _load_or_create(path: Path) -> bytes:
    if not path.exists():
        seed = os.urandom(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(seed.hex())
                f.flush()
                os.fsync(f.fileno())
    for _ in range(50):  # another process may be between O_EXCL and its write
        text = path.read_text().strip()
        if len(text) == 64:
            return bytes.fromhex(text)
        import time

        time.sleep(0.02)
    raise RuntimeError(f"key file {path} is damaged")


def load_keys(directory: Path) -> ServiceKeys:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return ServiceKeys(sealing=PrivateKey(_load_or_create(directory / "sealing.key")),
                       signing=SigningKey(_load_or_create(directory / "signing.key")))
