"""The service's data directory is its user's alone: made 0700, its files 0600, and refused when others can enter it.

It holds the database (identities, dossiers, pré-demandes, password and
session hashes), the service's private keys and the sealed parts. A
umask of 022, the usual default, made every one of them readable by any
account on the machine; so the service sets its own umask (:data:`UMASK`)
before it creates anything, and will not start on a directory that a
group or other users can open, rather than quietly change the rights of
a directory someone chose.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Files and directories the service creates are its user's only (the systemd unit says the same: UMask=0077).
UMASK = 0o077
#: The files it tightens at start-up when an older version made them readable (SQLite makes its -wal and
#: -shm files with the database file's rights).
_OWN_FILES = ("central.db", "central.db-wal", "central.db-shm")


class InsecureDataDir(Exception):
    """The data directory can be read by others than the service's user. The message says how to fix it."""


def set_umask() -> None:
    """From now on, what the process creates is private (called first thing by the service's entry points)."""
    os.umask(UMASK)


def make_private(path: Path) -> None:
    """Create ``path`` 0700 if it does not exist; refuse it if a group or others have any right on it.

    Raises :class:`InsecureDataDir`, French first then English, with the command that fixes it.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureDataDir(
            f"Le dossier de données {path} est ouvert à d'autres utilisateurs (droits {mode:04o}) : il contient "
            f"des données personnelles et les clés du service. Corrigez avec « chmod 700 {path} », puis relancez.\n"
            f"The data directory {path} is open to other users (mode {mode:04o}): it holds personal data and the "
            f"service's keys. Fix it with 'chmod 700 {path}', then start again.")
    for name in _OWN_FILES:
        own = path / name
        if own.exists() and stat.S_IMODE(own.stat().st_mode) & 0o077:
            own.chmod(0o600)
