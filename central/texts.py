"""The service's words, French first and English second, in one table looked up one way (:class:`Texts`).

The console speaks French to agents; the citizen's status page speaks
French, and English one link away; the API gives a kiosk a dossier's state
in both (``central.status``). Keys are grouped by what they name: ``role.*``
(an account's role), ``state.*`` (a dossier's state as an agent reads it),
``action.*`` (an audit log's action), ``notice.*`` (what a page says after
``?ok=…``), ``status.*`` (the status page, and ``status.state.*`` a
dossier's state as the citizen reads it).
``mail.*`` is the message a citizen receives when their dossier is returned
or validated (``central.mail``), plain text.

As in ``titres.messages``, French typography is applied once, here: the
spaces inside « » and before ``: ; ! ? %`` become non-breaking. A page that
wraps its text keeps them (``Texts(lang, typography=True)``); the console's
labels, the API and the logs get plain spaces, as they always had.

Still outside this table: the wording of a dossier's content
(``central.review``: verdicts, the kiosk's flags, fingers, answers), a
mairie's settings' names (``central.sites``) and a kiosk's screens
(``central.help_requests``), where some of it is also the list of accepted
values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from titres.i18n import Translator
from titres.messages import french_spacing

_TABLE: dict[str, dict[str, str]] = {
    # -- an account's role ------------------------------------------------------------
    "role.agent": {"fr": "Agent"},
    "role.supervisor": {"fr": "Superviseur"},
    "role.technician": {"fr": "Technicien"},
    "role.admin": {"fr": "Administrateur"},
    # -- a dossier's state, as an agent reads it (in this order in the queue's filter) --
    "state.received": {"fr": "À vérifier"},
    "state.validated": {"fr": "Validé"},
    "state.returned": {"fr": "Renvoyé"},
    "state.sent": {"fr": "Transmis à la préfecture"},
    # -- the audit log's actions -------------------------------------------------------
    "action.login": {"fr": "Connexion"},
    "action.login_failed": {"fr": "Connexion refusée"},
    "action.logout": {"fr": "Déconnexion"},
    "action.password_change": {"fr": "Mot de passe changé"},
    "action.open_dossier": {"fr": "Ouverture d'un dossier"},
    "action.view_fingerprint": {"fr": "Affichage d'une empreinte"},
    "action.view_biometric": {"fr": "Affichage photo ou signature"},
    "action.view_document": {"fr": "Affichage d'une pièce"},
    "action.verdict": {"fr": "Avis sur une pièce"},
    "action.approve": {"fr": "Validation"},
    "action.return": {"fr": "Renvoi"},
    "action.create_user": {"fr": "Création de compte"},
    "action.create_token": {"fr": "Jeton d'enrôlement"},
    "action.revoke_device": {"fr": "Borne révoquée"},
    "action.edit_site": {"fr": "Mairie modifiée"},
    "action.help_raised": {"fr": "Demande d'aide à une borne"},
    "action.help_acknowledged": {"fr": "Demande d'aide prise en charge"},
    "action.help_closed": {"fr": "Demande d'aide close par la borne"},
    "action.take_over": {"fr": "Prise en main d'un dossier"},
    # -- a line of a dossier's history, as agents read it --------------------------------
    "event.received": {"fr": "Reçu de la borne"},
    "event.verdict": {"fr": "Avis"},
    "event.take_over": {"fr": "Prise en main"},
    "event.validated": {"fr": "Validé"},
    "event.returned": {"fr": "Renvoyé"},
    "event.sent": {"fr": "Transmis à la préfecture"},
    "action.disable_user": {"fr": "Compte désactivé"},
    "action.enable_user": {"fr": "Compte réactivé"},
    "action.reset_password": {"fr": "Mot de passe réinitialisé"},
    "action.unlock_user": {"fr": "Attentes levées sur un compte"},
    "action.create_site": {"fr": "Mairie ajoutée"},
    # -- an account's state on the accounts page and in ``kiosk-central user list`` ----
    "user_state.active": {"fr": "Actif"},
    "user_state.disabled": {"fr": "Désactivé"},
    "user_state.throttled": {"fr": "Essais freinés"},
    "throttle.login.account": {"fr": "Connexion à un compte"},
    "throttle.login.client": {"fr": "Connexions (tous comptes)"},
    "throttle.status.number": {"fr": "Suivi d'un numéro"},
    "throttle.status.client": {"fr": "Suivi (tous numéros)"},
    "action.clear_throttle": {"fr": "Attente levée"},
    "action.status_lookup": {"fr": "Suivi consulté"},
    "action.predemande_read": {"fr": "Pré-demande lue par une borne"},
    "action.list_dossiers": {"fr": "Liste des dossiers"},
    "action.search_dossiers": {"fr": "Recherche de dossiers"},
    "user_state.temporary_password": {"fr": "Mot de passe provisoire"},
    # -- what a console page says after an action (``?ok=<name>``) ---------------------
    "notice.verdict": {"fr": "Avis enregistré."},
    "notice.verdicts": {"fr": "Avis enregistrés."},
    "notice.taken": {"fr": "Vous avez pris la main sur ce dossier : votre collègue en est prévenu sur sa page."},
    "notice.expired": {"fr": "Votre session a expiré faute d'activité : reconnectez-vous pour continuer. "
                             "Les avis non enregistrés sont gardés par ce navigateur et vous seront proposés."},
    "notice.approved": {"fr": "Dossier validé : il sera transmis à la préfecture."},
    "notice.returned": {"fr": "Dossier renvoyé."},
    "notice.created": {"fr": "Compte créé."},
    "notice.revoked": {"fr": "Borne révoquée."},
    "notice.password": {"fr": "Mot de passe changé."},
    "notice.out": {"fr": "Vous êtes déconnecté(e)."},
    "notice.site": {"fr": "Mairie enregistrée."},
    "notice.unchanged": {"fr": "Aucune modification : la mairie est inchangée."},
    "notice.help": {"fr": "C'est noté : la borne affiche « Un agent arrive ». Rendez-vous auprès de l'usager."},
    "notice.help_taken": {"fr": "Un collègue a déjà pris en charge cette demande d'aide."},
    "notice.help_closed": {"fr": "Cette demande d'aide est déjà close : la borne n'attend plus d'agent."},
    "notice.user_disabled": {"fr": "Compte désactivé : ses sessions ouvertes sont fermées."},
    "notice.user_enabled": {"fr": "Compte réactivé."},
    "notice.user_unlocked": {"fr": "Attentes levées : ce compte peut être essayé à nouveau de tout poste."},
    "notice.user_unchanged": {"fr": "Aucune modification : le compte était déjà dans cet état."},
    "notice.password_reset": {"fr": "Mot de passe réinitialisé : ses sessions ouvertes sont fermées."},
    "notice.password_temporary": {"fr": "Votre mot de passe est provisoire : choisissez-en un nouveau pour continuer."},
    "notice.site_created": {"fr": "Mairie ajoutée."},
    # -- the citizen's status page (the page a citizen may share) -----------------------
    "status.title": {"fr": "Suivi de votre demande", "en": "Your application"},
    "status.subtitle": {"fr": "carte d'identité ou passeport", "en": "identity card or passport"},
    "status.heading": {"fr": "Où en est mon dossier ?", "en": "Where is my application?"},
    "status.dossier": {"fr": "Dossier", "en": "Application"},
    "status.last_step": {"fr": "Dernière étape", "en": "Last step"},
    "status.not_found": {"fr": "Aucun dossier ne correspond à ce numéro et à cette date de naissance. "
                               "Vérifiez le numéro imprimé sur votre reçu.",
                         "en": "No application matches this number and this date of birth. "
                               "Check the number printed on your receipt."},
    "status.number": {"fr": "Numéro de dossier", "en": "Application number"},
    "status.number_hint": {"fr": "(sur votre reçu, par exemple K01-0001A-3)",
                           "en": "(on your receipt, for example K01-0001A-3)"},
    "status.birth_date": {"fr": "Date de naissance du titulaire", "en": "Holder's date of birth"},
    "status.submit": {"fr": "Voir l'état du dossier", "en": "Show the status"},
    "status.too_long": {"fr": "Numéro ou date trop longs : vérifiez votre saisie.",
                        "en": "Number or date too long: check what you typed."},
    "status.too_many": {"fr": "Trop d'essais depuis cet appareil. Réessayez dans {minutes} min, ou adressez-vous à "
                              "votre mairie.",
                        "en": "Too many tries from this device. Try again in {minutes} min, or ask your town hall."},
    "status.other_lang": {"fr": "English", "en": "Français"},
    "status.other_code": {"fr": "en", "en": "fr"},
    # -- a dossier's state, as the citizen reads it (status page, and the API's label_fr / label_en) --
    "status.state.captured": {"fr": "Enregistré à la borne, en attente de transmission",
                              "en": "Captured at the kiosk, waiting to be sent"},
    "status.state.received": {"fr": "Reçu, en attente de vérification par un agent",
                              "en": "Received, waiting for an agent's check"},
    "status.state.validated": {"fr": "Validé par la mairie", "en": "Validated by the town hall"},
    "status.state.returned": {"fr": "Renvoyé : la mairie vous contactera", "en": "Returned: the town hall will contact you"},
    "status.state.sent": {"fr": "Transmis à la préfecture pour instruction", "en": "Sent to the préfecture"},
    # -- a returned dossier's reasons, on the status page -------------------------------
    "status.reasons": {"fr": "Ce que la mairie vous demande", "en": "What the town hall asks of you"},
    "status.reasons_next": {"fr": "Revenez à la mairie avec les pièces indiquées.",
                            "en": "Come back to the town hall with the documents listed."},
    # -- the mail to a citizen (central.mail): plain text, one paragraph a key ------------
    "mail.subject.returned": {"fr": "Votre dossier {number} : des pièces à apporter à la mairie",
                              "en": "Your application {number}: documents to bring to the town hall"},
    "mail.subject.validated": {"fr": "Votre dossier {number} est validé par la mairie",
                               "en": "Your application {number} has been validated by the town hall"},
    "mail.hello": {"fr": "Bonjour,", "en": "Hello,"},
    "mail.returned": {"fr": "{site} a examiné le dossier {number}, déposé à sa borne, et ne peut pas le transmettre "
                            "en l'état :",
                      "en": "{site} has checked application {number}, made at its kiosk, and cannot send it on as "
                            "it is:"},
    "mail.returned_next": {"fr": "Ce qu'il faut faire : revenez à la mairie avec les pièces indiquées ci-dessus. "
                                 "L'agent complétera le dossier au guichet.",
                           "en": "What to do next: come back to the town hall with the documents listed above. "
                                 "The agent will complete your application at the desk."},
    "mail.validated": {"fr": "{site} a vérifié et validé le dossier {number}, déposé à sa borne. Il est transmis à la "
                             "préfecture, qui l'instruit.",
                       "en": "{site} has checked and validated application {number}, made at its kiosk. It is "
                             "sent to the préfecture, which processes it."},
    "mail.validated_next": {"fr": "La suite : quand votre titre sera prêt, vous recevrez un SMS de l'ANTS si vous "
                                  "avez indiqué un numéro de téléphone portable dans votre pré-demande ; vous pouvez "
                                  "aussi suivre votre demande sur votre compte ANTS (ants.gouv.fr). Le titre se retire "
                                  "en personne à la mairie où le dossier a été déposé, dans les 3 mois de sa mise à "
                                  "disposition : passé ce délai, il est détruit.",
                            "en": "What comes next: when your document is ready, the ANTS will send you a text "
                                  "message if you gave a mobile number in your pré-demande; you can also follow "
                                  "your application in your ANTS account (ants.gouv.fr). The document is collected "
                                  "in person at the town hall where the application was made, within 3 months of "
                                  "it being ready: after that, it is destroyed."},
    "mail.address": {"fr": "Adresse : {address}", "en": "Address: {address}"},
    "mail.hours": {"fr": "Horaires : {hours}", "en": "Opening hours: {hours}"},
    "mail.status": {"fr": "Suivre votre dossier : {url} (avec le numéro {number} et la date de naissance du titulaire).",
                    "en": "Follow your application: {url} (with the number {number} and the holder's date of "
                          "birth)."},
    "mail.status_receipt": {"fr": "Suivre votre dossier : l'adresse de la page de suivi est imprimée sur votre reçu.",
                            "en": "Follow your application: the status page's address is printed on your receipt."},
    "mail.footer": {"fr": "Ce message est envoyé automatiquement : merci de ne pas y répondre. Pour toute question, "
                          "adressez-vous à la mairie.",
                    "en": "This message is sent automatically: please do not reply to it. For any question, ask "
                          "the town hall."},
}

TEXTS: dict[str, dict[str, str]] = {key: {**entry, "fr": french_spacing(entry["fr"])} for key, entry in _TABLE.items()}


@dataclass(frozen=True)
class Texts:
    """The service's words in one language (French for a language the table does not have).

    ``texts(key)`` is a sentence; ``texts.label(kind, code)`` is how a code
    reads (a role, a state, an audit action), or the code itself when the
    table has no words for it; ``texts.labels(kind)`` is every code of a
    kind with its words, in the table's order (a form's choices).
    """

    lang: str = "fr"
    #: Keep the non-breaking spaces of French typography (a page that wraps); plain spaces otherwise.
    typography: bool = False

    def __call__(self, key: str, **params: object) -> str:
        return Translator(self.lang, TEXTS, self.typography)(key, **params)

    def find(self, key: str) -> str | None:
        """The text of ``key``, or None when the table has none (a notice asked for by name in a URL)."""
        return self(key) if key in TEXTS else None

    def label(self, kind: str, code: Any) -> Any:
        found = self.find(f"{kind}.{code}")
        return code if found is None else found

    def labels(self, kind: str) -> dict[str, str]:
        prefix = f"{kind}."
        return {key[len(prefix):]: self(key) for key in TEXTS
                if key.startswith(prefix) and "." not in key[len(prefix):]}
