"""The citizen's status page in French, and in English one link away (the page a citizen may share)."""

from __future__ import annotations

from titres.messages import french_spacing

TEXTS = {
    "fr": {
        "title": "Suivi de votre demande", "subtitle": "carte d'identité ou passeport",
        "heading": "Où en est mon dossier ?", "dossier": "Dossier", "last_step": "Dernière étape",
        "not_found": "Aucun dossier ne correspond à ce numéro et à cette date de naissance. "
                     "Vérifiez le numéro imprimé sur votre reçu.",
        "number": "Numéro de dossier", "number_hint": "(sur votre reçu, par exemple K01-0001A-3)",
        "birth_date": "Date de naissance du titulaire", "submit": "Voir l'état du dossier",
        "too_long": "Numéro ou date trop longs : vérifiez votre saisie.",
        "too_many": "Trop d'essais pour ce numéro. Réessayez dans une heure, ou adressez-vous à votre mairie.",
        "other_lang": "English", "other_code": "en",
    },
    "en": {
        "title": "Your application", "subtitle": "identity card or passport",
        "heading": "Where is my application?", "dossier": "Application", "last_step": "Last step",
        "not_found": "No application matches this number and this date of birth. "
                     "Check the number printed on your receipt.",
        "number": "Application number", "number_hint": "(on your receipt, for example K01-0001A-3)",
        "birth_date": "Holder's date of birth", "submit": "Show the status",
        "too_long": "Number or date too long: check what you typed.",
        "too_many": "Too many tries for this number. Try again in an hour, or ask your town hall.",
        "other_lang": "Français", "other_code": "fr",
    },
}


# French typography, as on the kiosk: non-breaking spaces before ":" and inside « ».
TEXTS["fr"] = {key: french_spacing(text) for key, text in TEXTS["fr"].items()}


def texts(lang: str) -> tuple[str, dict[str, str]]:
    lang = lang if lang in TEXTS else "fr"
    return lang, TEXTS[lang]
