"""Drawing the service's pages: the templates, French dates and durations, a page with its notice and help banner,
and what each refusal answers (:data:`REFUSALS`).

Every page extends ``templates/base.html`` (the header, the menu, the help
banner, the notice after an action). The citizen's status page
(``central.public``) is drawn the same way, from its own folder first.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool

from central import accounts, help_requests, review, sites
from central.accounts import Account
from central.console.access import (REVIEWERS, SESSION_COOKIE, BadForm, LoginRequired, PasswordChangeRequired,
                                   ScriptRefused, has_role, services_of)
from central.db import UnstorableText
from central.models import Role
from central.texts import Texts
from titres.dossier import MalformedDossier

log = logging.getLogger("central.console")

HERE = Path(__file__).parent
PREFIX = "/console"
#: Where an account with a temporary password is sent from every other page.
PASSWORD_PAGE = f"{PREFIX}/password"
PARIS = ZoneInfo("Europe/Paris")
#: The console speaks French to agents.
FR = Texts("fr")
#: How often the banner's script asks for the help requests (milliseconds).
HELP_POLL_MS = 5000


def fr_datetime(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if value else "—"


def fr_time(value: datetime | None) -> str:
    """The clock time alone (« 14:05 »), in Paris, for what ends today (a lockout)."""
    return value.astimezone(PARIS).strftime("%H:%M") if value else "—"


def fr_since(seconds: float) -> str:
    """A short wait, to the second under a minute (« 40 s »), then as :func:`fr_duration`."""
    return f"{int(seconds)} s" if seconds < 60 else fr_duration(seconds)


def fr_duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}"
    return f"{hours // 24} jours"


def fr_ago(since: datetime | None, now: datetime) -> str:
    """How long ago, for « ouvert depuis 3 min »."""
    return fr_since(max(0.0, (now - since).total_seconds())) if since else "—"


def templates(*folders: Path) -> Jinja2Templates:
    """The console's templates, with ``folders`` searched first (a page of another area that extends base.html)."""
    env = Environment(loader=FileSystemLoader([*folders, HERE / "templates"]), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(dt=fr_datetime, duration=fr_duration, since=fr_since, ago=fr_ago, hm=fr_time)
    env.globals.update(fr=FR, VERDICTS=review.VERDICTS, FLAG_LABELS=review.FLAG_LABELS,
                       attachment_url=review.attachment_url,
                       LANGUAGE_LABELS=sites.LANGUAGE_LABELS)
    return Jinja2Templates(env=env)


TEMPLATES = templates()


def render(pages: Jinja2Templates, request: Request, name: str, status_code: int = 200, **context):
    """A page of ``pages``, with the notice its ``?ok=`` names, if the table has one."""
    notice = FR.find(f"notice.{request.query_params.get('ok', '')}")
    return pages.TemplateResponse(request, name, {"notice": notice, **context}, status_code=status_code)


def help_views(request: Request, account: Account) -> list[help_requests.HelpView]:
    services = services_of(request)
    with services.db() as db:
        return help_requests.visible_to(db, account, services.now())


def page(request: Request, name: str, account: Account | None = None, status_code: int = 200, **context):
    """A console page; for agents and supervisors, with the help banner as it stands now."""
    if account is not None:
        context.setdefault("idle_seconds", services_of(request).config.session_idle_minutes * 60)
    if account is not None and has_role(account, REVIEWERS) and not account.must_change_password:
        context.setdefault("help", {"requests": help_views(request, account), "here": here(request),
                                    "show_site": account.role == Role.SUPERVISOR.value, "poll_ms": HELP_POLL_MS})
    return render(TEMPLATES, request, name, status_code, account=account, **context)


def error_page(request: Request, status_code: int, title: str, message: str, account: Account | None = None):
    return page(request, "error.html", account, status_code, title=title, message=message)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def home(account: Account) -> str:
    """Where an account lands: the queue, but technicians the fleet and administrators the accounts."""
    return {"technician": "/console/fleet", "admin": "/console/admin/users"}.get(account.role, "/console/")


def safe_next(url: str) -> str:
    """Only a console page of this site: never an open redirect."""
    if url.startswith("/console/") and not url.startswith("//") and "\\" not in url and len(url) < 300:
        return url
    return ""


def here(request: Request) -> str:
    """Where « J'arrive » comes back to: this page if it can be asked for again, else the queue."""
    if request.method != "GET":
        return "/console/"
    query = f"?{request.url.query}" if request.url.query else ""
    return safe_next(request.url.path + query) or "/console/"


def with_notice(url: str, notice: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ok"] + [("ok", notice)]
    return f"{parts.path}?{urlencode(query)}"


def too_long(**fields: tuple[str, int]) -> str | None:
    """The French refusal for the first field over its limit (``nom_complet=(value, 200)``), else None."""
    for label, (value, limit) in fields.items():
        if len(value) > limit:
            return f"Le champ « {label.replace('_', ' ')} » fait au plus {limit} caractères."
    return None


# -- the refusals ---------------------------------------------------------------------------

def _back_to(request: Request) -> str:
    """The page to come back to after logging in again: this one if it can be asked for again; for a form
    sent on a dossier, that dossier (its page keeps what was not saved, ``static/dossier.js``)."""
    path = str(request.url.path)
    if request.method == "GET":
        query = f"?{request.url.query}" if request.url.query else ""
        return safe_next(path + query)
    parts = path.split("/")
    if len(parts) > 4 and parts[:3] == ["", "console", "dossiers"]:
        return safe_next("/".join(parts[:4]))
    return ""


async def _login_required(request: Request, exc: LoginRequired):
    """To the login page, saying the session has expired, and back to this page once logged in.

    The page's own script (a verdict saved in place) gets a 401 in JSON with
    where to log in: it keeps the draft, then goes there.
    """
    back = _back_to(request)
    target = "/console/login"
    if request.cookies.get(SESSION_COOKIE):
        target += "?ok=expired" + (f"&next={quote(back, safe='')}" if back else "")
    elif back:
        target += "?next=" + quote(back, safe="")
    if request.headers.get("x-console-fetch") == "1":
        response = JSONResponse({"error": "login_required", "login": target,
                                 "detail": "Session expirée : reconnectez-vous. Votre saisie est gardée."},
                                status_code=401)
    else:
        response = redirect(target)
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


async def _password_change_required(request: Request, exc: PasswordChangeRequired):
    """A temporary password: to the password page, whatever was asked (the page says why)."""
    return redirect(PASSWORD_PAGE)


async def _who(request: Request) -> Account | None:
    """The account for an error page's menu, so a refused agent can find their way back."""
    return await run_in_threadpool(accounts.authenticate, services_of(request), request.cookies.get(SESSION_COOKIE))


async def _forbidden(request: Request, exc: review.Forbidden):
    return await run_in_threadpool(error_page, request, 403, "Accès refusé", str(exc), await _who(request))


async def _not_found(request: Request, exc: review.NotFound):
    return await run_in_threadpool(error_page, request, 404, "Introuvable", str(exc), await _who(request))


async def _bad_form(request: Request, exc: BadForm):
    return await run_in_threadpool(error_page, request, 403, "Formulaire refusé",
                                   "Ce formulaire a expiré ou ne vient pas de la console. "
                                   "Rechargez la page et recommencez.", await _who(request))


async def _unreadable(request: Request, exc: MalformedDossier):
    """A stored dossier this service's reader refuses (stored by an older, looser ingest, or edited by hand):
    said plainly, never a 500. The log names the page, not the value refused (it may be personal)."""
    log.warning("stored dossier unreadable", extra={"path": request.url.path, "reason": type(exc).__name__})
    return await run_in_threadpool(error_page, request, 409, "Dossier illisible",
                                   "Ce dossier ne peut pas être lu par cette version du service. Prévenez "
                                   "l'administrateur : rien n'a été modifié.", await _who(request))


async def _unstorable(request: Request, exc: UnstorableText):
    """A field or an address holding what no database stores (a NUL, a lone surrogate): said, never a 500."""
    return await run_in_threadpool(error_page, request, 400, "Saisie refusée",
                                   "Un champ contient un caractère qui ne peut pas être enregistré. Corrigez la "
                                   "saisie et recommencez.", await _who(request))


async def _script_refused(request: Request, exc: ScriptRefused):
    return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status_code)


#: What each refusal answers, whichever router raised it (registered on the application by ``central.app``).
REFUSALS = {LoginRequired: _login_required, PasswordChangeRequired: _password_change_required,
            review.Forbidden: _forbidden, review.NotFound: _not_found, BadForm: _bad_form,
            ScriptRefused: _script_refused, MalformedDossier: _unreadable, UnstorableText: _unstorable}
