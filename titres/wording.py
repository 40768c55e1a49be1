"""How a checklist item reads: its title, the line beneath it, its "only if …", and the line it makes
in a list, in one place.

The checklist, the capture screen, the summary, the receipt, the narration
and the agents' console all word a document the same way, from the rules' keys.
"""

from __future__ import annotations

from titres import outcomes
from titres.i18n import Translator, euros
from titres.outcomes import Outcome
from titres.rules import Capture, Requirement


def _params(t: Translator, req: Requirement) -> dict:
    params = dict(req.params)
    if req.amount_cents is not None:
        params["amount"] = euros(req.amount_cents, t.lang)
    return params


def requirement_label(t: Translator, req: Requirement) -> str:
    """The document's short title ("Justificatif de domicile"), with its amount or age formatted."""
    return t(req.label_key, **_params(t, req))


def requirement_detail(t: Translator, req: Requirement) -> str:
    """The line beneath the title ("De moins de 12 mois : facture…"), or an empty string."""
    if not req.detail_key or not t.has(req.detail_key):
        return ""
    return t(req.detail_key, **_params(t, req))


def requirement_condition(t: Translator, req: Requirement) -> str:
    """"Seulement si : … et …" for a conditional item, else an empty string."""
    if not req.conditions:
        return ""
    return t("checklist.only_if", condition=t("checklist.and").join(t(k) for k in req.conditions))


def checklist_line(t: Translator, req: Requirement) -> str:
    """The document as one line of a list (the originals on the receipt, the checklist read aloud): its
    title, then "(seulement si : …)" when it depends on the case."""
    label, condition = requirement_label(t, req), requirement_condition(t, req)
    return f"{label} ({condition[:1].lower()}{condition[1:]})" if condition else label


def presence_line(t: Translator, req: Requirement) -> str:
    """Who comes to the desk, or what is paid there, as a sentence ("Votre enfant vient avec vous au guichet.")."""
    return requirement_label(t, req) + "."


def fees_line(t: Translator, cents: int) -> str:
    """"Total des timbres : 86 €" beneath the checklist and on the receipt, or an empty string when nothing is paid."""
    return t("checklist.fees", amount=euros(cents, t.lang)) if cents else ""


def message_text(t: Translator, message, audience: str | None = None) -> str:
    """A session :class:`~kiosk.core.session.Message` as the citizen reads it (or hears it)."""
    if message.count is not None:
        return t.plural(message.key, message.count, **message.params)
    return t.worded(message.key, audience, **message.params)


def summary_lines(t: Translator, session) -> list[str]:
    """The summary screen's sentences, in the order a person checks them: what was photographed, what
    will only be shown at the desk, what the citizen does not have, each stamp, each finger (taken, or
    to take again at the desk), who must come, and to bring the originals."""
    items = outcomes.documents(session.checklist, (), session.dossier)
    by = {o: [requirement_label(t, i.requirement) for i in items if i.outcome is o and
              i.requirement.capture is Capture.PHOTO] for o in Outcome}
    out = []
    shot = by[Outcome.PHOTOGRAPHED]
    out.append(t.plural("summary.photographed", len(shot), items=", ".join(shot)) if shot
               else t("summary.none_photographed"))
    for outcome, key in ((Outcome.AT_DESK, "summary.at_desk"), (Outcome.NOT_HELD, "summary.not_held")):
        if by[outcome]:
            out.append(t.plural(key, len(by[outcome]), items=", ".join(by[outcome])))
    for i in items:
        if i.requirement.capture is Capture.STAMP and i.outcome is not None:
            stamp = requirement_label(t, i.requirement)
            out.append(t("summary.stamp_entered" if i.outcome is Outcome.ENTERED else "summary.stamp_paper",
                         stamp=stamp))
    for f in outcomes.fingers(session.fingers, session.dossier):
        finger = t(f"finger.{f.finger}")
        out.append(t("summary.finger_taken" if f.taken else "summary.finger_desk", finger=finger))
    out += [presence_line(t, i.requirement) for i in items if i.requirement.capture is Capture.PRESENCE]
    out.append(t("summary.bring"))
    return [x[:1].upper() + x[1:] for x in out]
