"""One image of a dossier on a page of its own: zoom, fit, real size and rotation (``static/viewer.js``).

The page is what a document's link opens without JavaScript, and what a
person can bookmark or open in another tab beside the dossier. With
JavaScript, ``viewer.js`` opens the same controls in a dialog on the
dossier page instead.

Access is the image's own (``review.get_for_user``: agents of the mairie,
supervisors). The page writes no audit line: the image it shows is
fetched from the attachment route (``central.console.dossiers``), which
records the read, so each time the image is read is one line in the log,
whether it was opened here, in the dialog or on its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from central import review
from central.accounts import Account
from central.console.access import require, services_of
from central.console.pages import PREFIX, page
from central.context import Services

router = APIRouter(prefix=PREFIX)


@router.get("/dossiers/{dossier_id}/view/{name:path}")
def viewer_page(request: Request, dossier_id: str, name: str, account: Account = Depends(require()),
                services: Services = Depends(services_of)):
    with services.db() as db:
        dossier = review.get_for_user(db, account, dossier_id)
        kind = review.attachment_kind(dossier, name)
        if kind is None:
            raise review.NotFound("Cette pièce n'existe pas dans ce dossier.")
        label, requirement = review.attachment_label(dossier, name, kind)
        return page(request, "viewer.html", account, dossier=dossier, label=label,
                    src=review.attachment_url(dossier, name),
                    back=f"/console/dossiers/{dossier.id}" + (f"#piece-{requirement}" if requirement else ""))
