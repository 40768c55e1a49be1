"""Sealing: encrypt each part of a dossier to the central service's public key.

libsodium sealed boxes (X25519 + XSalsa20-Poly1305, through PyNaCl): the
kiosk holds only the recipient's *public* key, so once sealed, not even the
kiosk can read back what it captured, and a stolen SD card reveals nothing.
"""

from __future__ import annotations

from pathlib import Path

from nacl.public import PrivateKey, PublicKey, SealedBox

from titres.errors import ConfigError


def recipient_key(hex_key: str) -> PublicKey:
    try:
        raw = bytes.fromhex(hex_key.strip())
        return PublicKey(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError("queue.recipient_public_key must be 32 bytes in hex") from exc


def seal(data: bytes | bytearray, key: PublicKey) -> bytes:
    return SealedBox(key).encrypt(bytes(data))


def unseal(blob: bytes, secret: PrivateKey) -> bytes:
    return SealedBox(secret).decrypt(blob)


def development_recipient(directory: Path) -> PublicKey:
    """A stand-in for the central service's key pair, for ``--simulate`` runs before provisioning.

    The secret half is kept in ``directory``, which callers place *beside*
    the kiosk's data directory, never inside it: a provisioned kiosk only
    ever holds the central service's public key.
    """
    directory.mkdir(parents=True, exist_ok=True)
    secret_file = directory / "central-secret.key"
    if secret_file.exists():
        secret = PrivateKey(bytes.fromhex(secret_file.read_text().strip()))
    else:
        secret = PrivateKey.generate()
        tmp = secret_file.with_suffix(".tmp")
        tmp.write_text(bytes(secret).hex())
        tmp.chmod(0o600)
        tmp.replace(secret_file)
    (directory / "central-public.key").write_text(bytes(secret.public_key).hex())
    return secret.public_key
