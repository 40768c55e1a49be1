"""One exception tree for the whole kiosk.

Every error a person may see carries a ``message_key`` into the translation
table (``titres.messages``) so the screen can tell them, in their language, what
to do next. Backends raise these, never a library's raw exception.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base of every error the kiosk raises on purpose."""

    message_key = "error.generic"

    def __init__(self, detail: str = "", *, message_key: str | None = None):
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        if message_key is not None:
            self.message_key = message_key


class ConfigError(KioskError):
    message_key = "error.config"


class InvalidTransition(KioskError):
    """An event arrived in a state that does not accept it (a programming error)."""


# --- pré-demande -----------------------------------------------------------
class PredemandeError(KioskError):
    message_key = "identify.error.generic"


class InvalidNumber(PredemandeError):
    message_key = "identify.error.format"


class NotAPredemande(PredemandeError):
    message_key = "identify.error.not_predemande"


class PredemandeNotFound(PredemandeError):
    message_key = "identify.error.unknown"


class PredemandeUnusable(PredemandeError):
    """The pré-demande cannot be used: consumed, expired, or refused by the agency (``status``), each said in
    the agency's own terms (``consumed``: already used for a dossier; ``declared``: not officially recognised;
    ``unknown``: the agency does not know the number; ``expired``)."""

    message_key = "identify.error.unusable"
    #: The agency's status and what the screen says of each.
    KEYS = {"consumed": "identify.error.consumed", "expired": "identify.error.expired",
            "declared": "identify.error.declared", "unknown": "identify.error.agency_unknown"}

    def __init__(self, detail: str = "", *, status: str = ""):
        super().__init__(detail, message_key=self.KEYS.get(status))
        self.status = status


class DirectoryUnavailable(PredemandeError):
    """The central service cannot be reached: the kiosk goes on offline."""

    message_key = "identify.offline"


class PredemandeNotHeld(DirectoryUnavailable):
    """The agency has validated the pré-demande, but the service holds no copy of its form: the kiosk goes on
    as offline, asking what the form would have said."""

    message_key = "identify.not_held"


# --- hardware ---------------------------------------------------------------
class HalError(KioskError):
    message_key = "error.device"


class BackendUnavailable(HalError):
    """A configured backend cannot load (library or device missing). Never silently replaced."""

    message_key = "error.device"


class CameraUnavailable(HalError):
    message_key = "error.camera"


class SensorUnavailable(HalError):
    message_key = "finger.error.sensor"


class SensorTimeout(HalError):
    message_key = "finger.error.sensor"


class PrinterError(HalError):
    message_key = "receipt.error.printer"


class PrinterNotFound(PrinterError):
    message_key = "receipt.error.printer"


class PaperOut(PrinterError):
    message_key = "receipt.error.paper"


# --- queue and sync --------------------------------------------------------
class QueueError(KioskError):
    message_key = "summary.error.queue"


class DiskFull(QueueError):
    message_key = "summary.error.disk_full"


class SyncError(KioskError):
    message_key = "error.sync"


class RetryableSyncError(SyncError):
    pass


class PermanentSyncError(SyncError):
    pass
