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

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request

from central import review
from central.accounts import Account
from central.console.access import require, services_of
from central.console.pages import PREFIX, page
from central.context import Services
from central.models import Dossier
from titres.dossier import Dossier as CapturedDossier

router = APIRouter(prefix=PREFIX)


def image_label(dossier: Dossier, name: str, kind: str) -> tuple[str, str]:
    """The image's name as the agent reads it on the dossier page, and the anchor of its card there ("" if none)."""
    captured = CapturedDossier.from_dict(dossier.content)
    if kind == "fingerprint":
        finger = next(f.finger for f in captured.fingerprints if f.attachment == name)
        return f"Empreinte : {review.finger_label(finger)}", ""
    if kind == "signature":
        return "Signature", ""
    requirement = next(d.requirement for d in captured.documents if d.attachment == name)
    label = "Photo d'identité" if kind == "photo" else review.requirement_label(dossier, requirement)
    return label, f"#piece-{requirement}"


@router.get("/dossiers/{dossier_id}/view/{name:path}")
def viewer_page(request: Request, dossier_id: str, name: str, account: Account = Depends(require()),
                services: Services = Depends(services_of)):
    with services.db() as db:
        dossier = review.get_for_user(db, account, dossier_id)
        kind = review.attachment_kind(dossier, name)
        if kind is None:
            raise review.NotFound("Cette pièce n'existe pas dans ce dossier.")
        label, anchor = image_label(dossier, name, kind)
        return page(request, "viewer.html", account, dossier=dossier, label=label,
                    src=f"/console/dossiers/{dossier.id}/attachments/{quote(name)}?v={dossier.package_sha256[:16]}",
                    back=f"/console/dossiers/{dossier.id}{anchor}")
