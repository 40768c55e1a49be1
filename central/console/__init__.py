"""The agents' console: server-rendered French pages, a router per area (see ``docs/console.md``).

``central.app`` mounts :data:`router` as it mounts the API's, then the
console's static files, :data:`REFUSALS` (what a refused request answers,
whichever router refused it) and the security headers
(``central.console.headers``), which only an application can hold.

| Module | Routes under ``/console`` | Who |
|---|---|---|
| ``auth`` | ``/login``, ``/logout``, ``/password`` | anyone; signed in for the last two |
| ``dossiers`` | ``/``, ``/dossiers/…`` (page, images, verdicts, approve, return) | agents, supervisors |
| ``viewer`` | ``/dossiers/…/view/…`` (one image: zoom, rotation) | agents, supervisors |
| ``help`` | ``/help.json``, ``/help/…/acknowledge`` | agents, supervisors |
| ``fleet`` | ``/fleet``, ``/fleet/…/revoke`` | technicians, admins, supervisors; revoking: technicians, admins |
| ``admin`` | ``/admin/users``, ``/admin/audit``; ``/admin/tokens``, ``/admin/sites`` | admins; technicians, admins |

``access`` holds the dependencies every route declares (who, which role,
the form's CSRF token, the services); ``pages`` draws pages and refusals.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from central.console import admin, auth, dossiers, fleet, help, viewer
from central.console.pages import PREFIX, REFUSALS

router = APIRouter()
for area in (auth, dossiers, viewer, help, admin, fleet):
    router.include_router(area.router)


def static_files() -> StaticFiles:
    """The stylesheet and the scripts, served at ``/console/static``."""
    return StaticFiles(directory=Path(__file__).parent / "static")


__all__ = ["PREFIX", "REFUSALS", "router", "static_files"]
