"""The citizen's status page: a dossier's state by its number and the holder's date of birth, no login.

French, and English one link away (the page a citizen may share). It is
drawn like the console's pages, from ``templates/`` here first and the
console's ``base.html`` (``central.console.pages``): one look, one
stylesheet and the same security headers for every page of the service.
``central.status`` answers; an unknown number and a wrong date get the same
answer.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request

from central import status, throttle
from central.console.access import services_of
from central.console.pages import render, templates
from central.clients import client_address
from central.context import Services
from central.texts import Texts
from titres.i18n import LANGUAGES

PREFIX = "/statut"
TEMPLATES = templates(Path(__file__).parent / "templates")

router = APIRouter(prefix=PREFIX)


def _texts(lang: str) -> tuple[str, Texts]:
    lang = lang if lang in LANGUAGES else "fr"
    return lang, Texts(lang, typography=True)


def _page(request: Request, status_code: int = 200, **context):
    return render(TEMPLATES, request, "status.html", status_code, **context)


@router.get("")
def status_form(request: Request, lang: str = "fr"):
    lang, t = _texts(lang)
    return _page(request, lang=lang, t=t)


@router.post("")
def status_answer(request: Request, number: str = Form(""), birth_date: str = Form(""), lang: str = Form("fr"),
                  services: Services = Depends(services_of)):
    lang, t = _texts(lang)
    number, birth_date = number.strip(), birth_date.strip()
    if len(number) > 40 or len(birth_date) > 10:
        return _page(request, 400, number=number[:40], error=t("status.too_long"), lang=lang, t=t)
    try:
        answer = status.lookup(services, number, birth_date, client_address(request))
    except throttle.Throttled as exc:
        response = _page(request, 429, number=number, error=t("status.too_many", minutes=exc.minutes), lang=lang, t=t)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    return _page(request, number=number, birth_date=birth_date, answer=answer, asked=True, lang=lang, t=t)
