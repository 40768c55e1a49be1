"""Time zones by their IANA names: a mairie's own, for its receipts and its citizens' ages.

The kiosk's configuration and the service's list of mairies name them the
same way, and both refuse a name the system does not know, with the same
words.
"""

from __future__ import annotations

from titres.errors import ConfigError


def time_zone(name: str):
    """``name`` as a ``tzinfo``; :class:`ConfigError` when the system does not know it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"time zone {name!r} is not one this system knows "
                          f"(an IANA name such as Europe/Paris or America/Cayenne)") from exc
