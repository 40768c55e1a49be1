"""The agents' console and the citizen's status page: server-rendered French HTML, no JavaScript needed.

Handlers are thin: who is asking (``central.accounts``), what they may do
(``central.review``, ``central.enrollment``, ``central.fleet``), then a
template. Every POST carries the session's CSRF token; cookies are
HttpOnly and SameSite=Strict; pages are never cached (they show personal
data) and may not be framed. See ``docs/console.md``.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import qrcode
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select

from central import accounts, audit, enrollment, fleet, help_requests, review, sites, status
from central.accounts import Account
from central.console.status_texts import texts
from central.context import Services
from central.ingest import read_attachment
from central.models import DossierEvent, Role, Site
from titres.enrollment_code import format_code
from titres.protocol import ProtocolError

HERE = Path(__file__).parent
SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"  # double-submit token of the login form, before any session exists
MAX_FORM_BYTES = 32 * 1024
PARIS = ZoneInfo("Europe/Paris")
ROLE_LABELS = {"agent": "Agent", "supervisor": "Superviseur", "technician": "Technicien", "admin": "Administrateur"}
STATE_LABELS = {"received": "À vérifier", "validated": "Validé", "returned": "Renvoyé",
                "sent": "Transmis à la préfecture"}
ACTION_LABELS = {
    "login": "Connexion", "login_failed": "Connexion refusée", "logout": "Déconnexion",
    "password_change": "Mot de passe changé", "open_dossier": "Ouverture d'un dossier",
    "view_fingerprint": "Affichage d'une empreinte", "view_biometric": "Affichage photo ou signature",
    "view_document": "Affichage d'une pièce", "verdict": "Avis sur une pièce", "approve": "Validation",
    "return": "Renvoi", "create_user": "Création de compte", "create_token": "Jeton d'enrôlement",
    "revoke_device": "Borne révoquée", "edit_site": "Mairie modifiée",
    "help_raised": "Demande d'aide à une borne", "help_acknowledged": "Demande d'aide prise en charge",
    "help_closed": "Demande d'aide close par la borne",
}
NOTICES = {"verdict": "Avis enregistré.", "approved": "Dossier validé : il sera transmis à la préfecture.",
           "returned": "Dossier renvoyé.", "created": "Compte créé.", "revoked": "Borne révoquée.",
           "password": "Mot de passe changé.", "out": "Vous êtes déconnecté(e).",
           "site": "Mairie enregistrée.", "unchanged": "Aucune modification : la mairie est inchangée.",
           "help": "C'est noté : la borne affiche « Un agent arrive ». Rendez-vous auprès de l'usager.",
           "help_taken": "Un collègue a déjà pris en charge cette demande d'aide.",
           "help_closed": "Cette demande d'aide est déjà close : la borne n'attend plus d'agent."}
#: The notice after « J'arrive », by outcome of :func:`central.help_requests.acknowledge`.
HELP_NOTICES = {"acknowledged": "help", "taken": "help_taken", "closed": "help_closed"}
#: How often the banner's script asks for the help requests (milliseconds).
HELP_POLL_MS = 5000
AGENT_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value)
FLEET_ROLES = (Role.TECHNICIAN.value, Role.ADMIN.value, Role.SUPERVISOR.value)
TOKEN_ROLES = (Role.TECHNICIAN.value, Role.ADMIN.value)


class LoginRequired(Exception):
    pass


class BadForm(Exception):
    """A POST without the right CSRF token: refused before anything else is read."""


# -- formatting ------------------------------------------------------------------------

def fr_datetime(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if value else "—"


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


def _templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(dt=fr_datetime, duration=fr_duration, since=fr_since)
    env.globals.update(ROLE_LABELS=ROLE_LABELS, STATE_LABELS=STATE_LABELS, ACTION_LABELS=ACTION_LABELS,
                       VERDICTS=review.VERDICTS, FLAG_LABELS=review.FLAG_LABELS,
                       LANGUAGE_LABELS=sites.LANGUAGE_LABELS)
    return Jinja2Templates(env=env)


TEMPLATES = _templates()


# -- request helpers ----------------------------------------------------------------------

def _services(request: Request) -> Services:
    return request.app.state.services


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _account(request: Request, roles: tuple[str, ...] | None = None) -> Account:
    account = accounts.authenticate(_services(request), request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise LoginRequired()
    if roles is not None and account.role not in roles:
        raise review.Forbidden("Cette page n'est pas ouverte à votre rôle.")
    return account


def _posted(request: Request, roles: tuple[str, ...] | None, csrf: str) -> Account:
    account = _account(request, roles)
    if not hmac.compare_digest(account.csrf.encode(), (csrf or "").encode()):
        raise BadForm()
    return account


def _here(request: Request) -> str:
    """Where « J'arrive » comes back to: this page if it can be asked for again, else the queue."""
    if request.method != "GET":
        return "/console/"
    query = f"?{request.url.query}" if request.url.query else ""
    return _safe_next(request.url.path + query) or "/console/"


def _with_notice(url: str, notice: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ok"] + [("ok", notice)]
    return f"{parts.path}?{urlencode(query)}"


def _help_views(request: Request, account: Account) -> list[help_requests.HelpView]:
    services = _services(request)
    with services.db() as db:
        return help_requests.visible_to(db, account, help_requests.now_of(services))


def _page(request: Request, name: str, account: Account | None = None, status_code: int = 200, **context):
    """A page; for agents and supervisors, with the help banner as it stands now."""
    notice = NOTICES.get(request.query_params.get("ok", ""))
    if account is not None and account.role in AGENT_ROLES:
        context.setdefault("help", {"requests": _help_views(request, account), "here": _here(request),
                                    "show_site": account.role == Role.SUPERVISOR.value, "poll_ms": HELP_POLL_MS})
    return TEMPLATES.TemplateResponse(request, name, {"account": account, "notice": notice, **context},
                                      status_code=status_code)


def _help_payload(account: Account, views: list[help_requests.HelpView], here: str) -> dict:
    """What the banner's script re-renders from: each request's facts and its HTML, and the whole banner."""
    macros = TEMPLATES.env.get_template("_help.html").module
    show_site = account.role == Role.SUPERVISOR.value
    return {
        "requests": [{
            "id": v.id, "key": v.key, "kiosk_code": v.kiosk_code, "site": v.site_name, "screen": v.screen,
            "screen_label": v.screen_label, "state": v.state, "unreachable": v.unreachable,
            "waiting_s": round(v.waiting_s), "on_screen_s": round(v.on_screen_s), "silent_s": round(v.silent_s),
            "since": {"waiting": fr_since(v.waiting_s), "on_screen": fr_since(v.on_screen_s),
                      "silent": fr_since(v.silent_s)},
            "acknowledged_by": v.acknowledged_by,
            "acknowledged_at": v.clock(v.acknowledged_at) if v.acknowledged_at else None,
            "html": str(macros.item(v, account.csrf, here, show_site)),
        } for v in views],
        "banner": str(macros.banner(views, account.csrf, here, show_site)) if views else "",
    }


def _error(request: Request, status_code: int, title: str, message: str, account: Account | None = None):
    return _page(request, "error.html", account, status_code, title=title, message=message)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _home(account: Account) -> str:
    return {"technician": "/console/fleet", "admin": "/console/admin/users"}.get(account.role, "/console/")


def _safe_next(url: str) -> str:
    """Only a console page of this site: never an open redirect."""
    if url.startswith("/console/") and not url.startswith("//") and "\\" not in url and len(url) < 300:
        return url
    return ""


def _too_long(**fields: tuple[str, int]) -> str | None:
    for label, (value, limit) in fields.items():
        if len(value) > limit:
            return f"Le champ « {label.replace('_', ' ')} » fait au plus {limit} caractères."
    return None


class ConsoleHeaders:
    """ASGI middleware for the console's and the status page's responses only (the device API is left alone).

    Pages show personal data: never cached, never framed, no referrer sent
    with a link, scripts and styles only from this origin. A POST must say
    its length and stay under :data:`MAX_FORM_BYTES`, so a huge form is
    refused before it is read.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path.startswith("/console") or path.startswith("/statut")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; "
                                                      "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Content-Type-Options"] = "nosniff"
                if not path.startswith("/console/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        if scope["method"] == "POST":
            length = Headers(scope=scope).get("content-length", "")
            if not length.isdigit() or int(length) > MAX_FORM_BYTES:
                response = _error(Request(scope), 413 if length.isdigit() else 411, "Formulaire refusé",
                                  "Ce formulaire dépasse la taille permise.")
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


# -- the pages ----------------------------------------------------------------------------------

def install(app: FastAPI) -> None:
    """Add the console's routes, static files, error pages and security headers to ``app``."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    app.add_middleware(ConsoleHeaders)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        target = "/console/login"
        if request.method == "GET" and _safe_next(str(request.url.path)):
            query = f"?{request.url.query}" if request.url.query else ""
            target += "?next=" + quote(request.url.path + query, safe="")
        response = _redirect(target)
        response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
        return response

    async def _who(request: Request) -> Account | None:
        """The account for an error page's menu, so a refused agent can find their way back."""
        return await run_in_threadpool(accounts.authenticate, _services(request), request.cookies.get(SESSION_COOKIE))

    @app.exception_handler(review.Forbidden)
    async def _forbidden(request: Request, exc: review.Forbidden):
        return await run_in_threadpool(_error, request, 403, "Accès refusé", str(exc), await _who(request))

    @app.exception_handler(review.NotFound)
    async def _not_found(request: Request, exc: review.NotFound):
        return await run_in_threadpool(_error, request, 404, "Introuvable", str(exc), await _who(request))

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, exc: BadForm):
        return await run_in_threadpool(_error, request, 403, "Formulaire refusé",
                                       "Ce formulaire a expiré ou ne vient pas de la console. "
                                       "Rechargez la page et recommencez.", await _who(request))

    def _set_cookie(response: Response, request: Request, name: str, value: str, path: str) -> None:
        response.set_cookie(name, value, path=path, httponly=True, samesite="strict",
                            secure=_services(request).config.secure_cookies)

    # ---- login, logout, password

    def _login_form(request: Request, error: str | None = None, status_code: int = 200, next_url: str = ""):
        token = secrets.token_urlsafe(24)
        response = _page(request, "login.html", None, status_code, error=error, login_csrf=token,
                         next_url=_safe_next(next_url))
        _set_cookie(response, request, LOGIN_COOKIE, token, "/console/login")
        return response

    @app.get("/console/login")
    def login_form(request: Request, next: str = ""):
        return _login_form(request, next_url=next)

    @app.post("/console/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
              next: str = Form("")):
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
            return _login_form(request, "Le formulaire a expiré : saisissez à nouveau vos identifiants.", 403, next)
        try:
            token, _ = accounts.login(_services(request), username, password, _ip(request))
        except accounts.LoginFailed as exc:
            return _login_form(request, str(exc), 401, next)
        account = accounts.authenticate(_services(request), token)
        response = _redirect(_safe_next(next) or _home(account))
        _set_cookie(response, request, SESSION_COOKIE, token, "/console")
        response.delete_cookie(LOGIN_COOKIE, path="/console/login", httponly=True, samesite="strict")
        return response

    @app.post("/console/logout")
    def logout(request: Request, csrf: str = Form("")):
        _posted(request, None, csrf)
        accounts.logout(_services(request), request.cookies.get(SESSION_COOKIE), _ip(request))
        response = _redirect("/console/login?ok=out")
        response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
        return response

    @app.get("/console/password")
    def password_form(request: Request):
        return _page(request, "password.html", _account(request))

    @app.post("/console/password")
    def password_change(request: Request, old: str = Form(""), new: str = Form(""), confirm: str = Form(""),
                        csrf: str = Form("")):
        account = _posted(request, None, csrf)
        error = None
        if new != confirm:
            error = "Les deux saisies du nouveau mot de passe diffèrent."
        else:
            try:
                accounts.change_password(_services(request), account.id, old, new,
                                         keep_token=request.cookies.get(SESSION_COOKIE), ip=_ip(request))
            except accounts.AccountError as exc:
                error = str(exc)
        if error:
            return _page(request, "password.html", account, 400, error=error)
        return _redirect(_home(account) + "?ok=password")

    # ---- the queue and the dossier

    @app.get("/console")
    def console_root():
        return _redirect("/console/")

    @app.get("/console/")
    def queue_page(request: Request, q: str = "", state: str = "", page: str = "1"):
        account = _account(request)
        if account.role not in AGENT_ROLES:
            return _redirect(_home(account))
        services = _services(request)
        with services.db() as db:
            try:
                number = int(page) if page.isdigit() and len(page) < 6 else 1
                result = review.queue(db, account, q, state or None, number)
            except review.InvalidAction as exc:
                return _page(request, "queue.html", account, 400, error=str(exc), result=None, q=q[:100],
                             state=state, sites={})
            if result.by_number and len(result.items) == 1:
                return _redirect(f"/console/dossiers/{result.items[0].id}")
            sites = dict(db.execute(select(Site.id, Site.name)).all())
            return _page(request, "queue.html", account, result=result, q=q, state=state, sites=sites,
                         site_name=sites.get(account.site_id or "", ""))

    def _dossier_page(request: Request, account: Account, dossier_id: str, error: str | None = None,
                      status_code: int = 200):
        services = _services(request)
        with services.db() as db, db.begin():
            dossier = review.get_for_user(db, account, dossier_id)
            audit.record(db, actor=account.username, role=account.role, action="open_dossier",
                         dossier_id=dossier.id, ip=_ip(request))
            given = review.verdicts(db, dossier.id)
            missing, refused = review.missing_verdicts(db, dossier)
            content = dossier.content or {}
            documents = {d.get("requirement"): d for d in content.get("documents", [])}
            stamps = {s.get("requirement"): s for s in content.get("stamps", [])}
            conditional = review.conditional_items(dossier)
            items = [{"id": rid, "label": review.requirement_label(dossier, rid), "document": documents.get(rid),
                      "stamp": stamps.get(rid), "verdict": given.get(rid), "conditional": rid in conditional,
                      "condition": review.requirement_condition(dossier, rid)}
                     for rid in review.requirements(dossier)]
            fingers = [{**f, "label": review.finger_label(str(f.get("finger"))),
                        "status_label": review.FINGER_STATUS.get(f.get("status"), f.get("status"))}
                       for f in content.get("fingerprints", [])]
            events = list(db.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id)
                                     .order_by(DossierEvent.at, DossierEvent.id)))
            site = db.get(Site, dossier.site_id)
            return _page(request, "dossier.html", account, status_code, dossier=dossier, error=error,
                         items=items, fingers=fingers, events=events, site=site,
                         predemande=review.predemande_fields(db, dossier), answers=review.answers(dossier),
                         missing=[review.requirement_label(dossier, r) for r in missing],
                         refused=[review.requirement_label(dossier, r) for r in refused],
                         signature=content.get("signature"), signer=content.get("signer"))

    @app.get("/console/dossiers/{dossier_id}")
    def dossier_page(request: Request, dossier_id: str):
        return _dossier_page(request, _account(request), dossier_id)

    @app.get("/console/dossiers/{dossier_id}/attachments/{name:path}")
    def attachment(request: Request, dossier_id: str, name: str):
        account = _account(request)
        services = _services(request)
        with services.db() as db, db.begin():
            dossier = review.get_for_user(db, account, dossier_id)
            kind = review.attachment_kind(dossier, name)
            if kind is None:
                raise review.NotFound("Cette pièce n'existe pas dans ce dossier.")
            try:
                media_type, data = read_attachment(services, dossier, name)
            except (KeyError, ProtocolError):
                return _error(request, 500, "Pièce illisible", "Cette pièce ne peut pas être ouverte "
                              "(intégrité). Prévenez l'administrateur.", account)
            audit.record(db, actor=account.username, role=account.role, action=review.audit_action(kind),
                         dossier_id=dossier.id, detail=name, ip=_ip(request))
        if media_type not in ("image/jpeg", "image/png"):
            media_type = "application/octet-stream"
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-store",
                                                              "Content-Disposition": "inline"})

    def _decision(request: Request, account: Account, dossier_id: str, work, done: str, anchor: str = ""):
        try:
            with _services(request).db() as db, db.begin():
                work(db)
        except review.InvalidAction as exc:
            return _dossier_page(request, account, dossier_id, str(exc), 400)
        return _redirect(f"/console/dossiers/{dossier_id}?ok={done}{anchor}")

    @app.post("/console/dossiers/{dossier_id}/verdicts")
    def verdict(request: Request, dossier_id: str, requirement: str = Form(""), verdict: str = Form(""),
                comment: str = Form(""), csrf: str = Form("")):
        account = _posted(request, AGENT_ROLES, csrf)
        requirement = requirement[:64]
        return _decision(request, account, dossier_id,
                         lambda db: review.set_verdict(db, account, dossier_id, requirement, verdict[:24], comment,
                                                       ip=_ip(request)),
                         "verdict", f"#piece-{requirement}")

    @app.post("/console/dossiers/{dossier_id}/approve")
    def approve(request: Request, dossier_id: str, csrf: str = Form("")):
        account = _posted(request, AGENT_ROLES, csrf)
        return _decision(request, account, dossier_id,
                         lambda db: review.approve(db, account, dossier_id, ip=_ip(request)), "approved")

    @app.post("/console/dossiers/{dossier_id}/return")
    def return_dossier(request: Request, dossier_id: str, reasons: str = Form(""), csrf: str = Form("")):
        account = _posted(request, AGENT_ROLES, csrf)
        return _decision(request, account, dossier_id,
                         lambda db: review.return_(db, account, dossier_id, reasons, ip=_ip(request)), "returned")

    # ---- help requests from kiosks (the banner on every page)

    @app.get("/console/help.json")
    def help_json(request: Request, next: str = ""):
        """The banner's polling: the same scope as the pages, and it does not keep an idle session alive."""
        account = accounts.authenticate(_services(request), request.cookies.get(SESSION_COOKIE), refresh=False)
        if account is None:
            return JSONResponse({"error": "login_required", "detail": "Session expirée : reconnectez-vous."},
                                status_code=401)
        if account.role not in AGENT_ROLES:
            return JSONResponse({"error": "forbidden", "detail": "Réservé aux agents et aux superviseurs."},
                                status_code=403)
        return JSONResponse(_help_payload(account, _help_views(request, account), _safe_next(next) or "/console/"))

    @app.post("/console/help/{request_id}/acknowledge")
    def acknowledge_help(request: Request, request_id: str, csrf: str = Form(""), next: str = Form("")):
        """« J'arrive »: a plain form (back to the page it came from), or the script's fetch (JSON answer)."""
        account = _posted(request, AGENT_ROLES, csrf)
        services = _services(request)
        try:
            with services.db() as db, db.begin():
                outcome = help_requests.acknowledge(db, account, request_id, help_requests.now_of(services),
                                                    ip=_ip(request))
        except help_requests.UnknownRequest:
            raise review.NotFound("Cette demande d'aide n'existe pas ou ne concerne pas votre mairie.") from None
        back = _safe_next(next) or "/console/"
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"outcome": outcome, "message": NOTICES[HELP_NOTICES[outcome]],
                                 **_help_payload(account, _help_views(request, account), back)})
        return _redirect(_with_notice(back, HELP_NOTICES[outcome]) + "#aide")

    # ---- administration

    @app.get("/console/admin/audit")
    def audit_page(request: Request, dossier: str = "", actor: str = "", before: str = ""):
        account = _account(request, (Role.ADMIN.value,))
        dossier, actor = dossier.strip()[:36], actor.strip()[:64]
        with _services(request).db() as db:
            rows = audit.entries(db, dossier_id=dossier or None, actor=actor or None, limit=100,
                                 before_id=int(before) if before.isdigit() and len(before) < 16 else None)
        return _page(request, "audit.html", account, rows=rows, dossier=dossier, actor=actor)

    def _users_page(request: Request, account: Account, error: str | None = None, status_code: int = 200,
                    form: dict | None = None):
        with _services(request).db() as db:
            users = accounts.list_users(db)
            sites = list(db.scalars(select(Site).order_by(Site.name)))
            site_names = {s.id: s.name for s in sites}
            now = datetime.now(timezone.utc)
            return _page(request, "users.html", account, status_code, users=users, sites=sites,
                         site_names=site_names, error=error, form=form or {}, now=now)

    @app.get("/console/admin/users")
    def users_page(request: Request):
        return _users_page(request, _account(request, (Role.ADMIN.value,)))

    @app.post("/console/admin/users")
    def create_user(request: Request, username: str = Form(""), full_name: str = Form(""), role: str = Form(""),
                    site_id: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        account = _posted(request, (Role.ADMIN.value,), csrf)
        form = {"username": username[:64], "full_name": full_name[:200], "role": role[:16], "site_id": site_id[:64]}
        error = _too_long(identifiant=(username, 64), nom_complet=(full_name, 200), mot_de_passe=(password, 200))
        if error is None:
            try:
                with _services(request).db() as db, db.begin():
                    accounts.create_user(db, username, password, role, site_id or None, full_name)
                    audit.record(db, actor=account.username, role=account.role, action="create_user",
                                 detail=f"{username.strip().lower()} ({role})", ip=_ip(request))
            except accounts.AccountError as exc:
                error = str(exc)
        if error:
            return _users_page(request, account, error, 400, form)
        return _redirect("/console/admin/users?ok=created")

    def _site_names(request: Request) -> list[str]:
        with _services(request).db() as db:
            return list(db.scalars(select(Site.name).order_by(Site.name)))

    @app.get("/console/admin/tokens")
    def tokens_page(request: Request):
        return _page(request, "tokens.html", _account(request, TOKEN_ROLES), sites=_site_names(request))

    @app.post("/console/admin/tokens")
    def create_token(request: Request, site: str = Form(""), csrf: str = Form("")):
        account = _posted(request, TOKEN_ROLES, csrf)
        site = site.strip()
        if not site or len(site) > 200:
            return _page(request, "tokens.html", account, 400, sites=_site_names(request),
                         error="Indiquez la mairie (1 à 200 caractères).", site=site[:200])
        services = _services(request)
        issued = enrollment.issue_token(services, site, created_by=account.username)
        with services.db() as db, db.begin():
            audit.record(db, actor=account.username, role=account.role, action="create_token", detail=site,
                         ip=_ip(request))
        central_url = str(request.base_url).rstrip("/")
        # The code carries the service's address with the token: a blank kiosk's camera needs nothing else.
        image = io.BytesIO()
        qrcode.make(format_code(central_url, issued.token), border=4, box_size=8).save(image)
        qr = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()
        return _page(request, "tokens.html", account, sites=_site_names(request), token=issued.token, qr=qr,
                     site=issued.site_name, expires_at=issued.expires_at,
                     command=f"kiosk provision --central {central_url} --token {issued.token}")

    # ---- the mairies' settings

    def _sites_page(request: Request, account: Account, status_code: int = 200, failed: dict | None = None):
        """``failed``: the site id, the refused form as typed and the :class:`sites.SiteError`."""
        with _services(request).db() as db:
            rows = sites.list_sites(db)
        error = f"« {failed['name']} » n'est pas enregistrée. {failed['error']}" if failed else None
        return _page(request, "sites.html", account, status_code, rows=rows, failed=failed or {}, error=error,
                     limits={"name": sites.NAME_MAX, "address": sites.ADDRESS_MAX, "hours": sites.HOURS_MAX},
                     ZONES=sites.FRENCH_ZONES)

    @app.get("/console/admin/sites")
    def sites_page(request: Request):
        return _sites_page(request, _account(request, TOKEN_ROLES))

    @app.post("/console/admin/sites/{site_id}")
    def edit_site(request: Request, site_id: str, name: str = Form(""), address: str = Form(""),
                  opening_hours: str = Form(""), default_language: str = Form(""), timezone_: str = Form("", alias="timezone"),
                  csrf: str = Form("")):
        account = _posted(request, TOKEN_ROLES, csrf)
        try:
            with _services(request).db() as db, db.begin():
                site = db.get(Site, site_id[:64])
                if site is None:
                    raise review.NotFound("Cette mairie n'existe pas.")
                current_name = site.name
                changed = sites.edit_site(db, site, actor=account.username, role=account.role, ip=_ip(request),
                                          name=name, address=address, opening_hours=opening_hours,
                                          default_language=default_language, timezone=timezone_ or None)
        except sites.SiteError as exc:
            form = {"name": name[:sites.NAME_MAX], "address": address[:sites.ADDRESS_MAX],
                    "opening_hours": opening_hours[:sites.HOURS_MAX], "default_language": default_language[:8],
                    "timezone": timezone_[:64]}
            return _sites_page(request, account, 400, {"id": site_id, "name": current_name, "form": form,
                                                       "field": exc.field, "error": str(exc)})
        return _redirect(f"/console/admin/sites?ok={'site' if changed else 'unchanged'}#mairie-{quote(site_id)}")

    @app.get("/console/fleet")
    def fleet_page(request: Request):
        account = _account(request, FLEET_ROLES)
        now = datetime.now(timezone.utc)
        services = _services(request)
        kiosks = fleet.fleet(services)
        with services.db() as db:
            help_by_device = help_requests.by_device(db, help_requests.now_of(services))
        return _page(request, "fleet.html", account, kiosks=kiosks, now=now, offline_after=fleet.OFFLINE_AFTER,
                     can_revoke=account.role in TOKEN_ROLES, help_by_device=help_by_device)

    @app.post("/console/fleet/{device_id}/revoke")
    def revoke(request: Request, device_id: str, confirm: str = Form(""), csrf: str = Form("")):
        account = _posted(request, TOKEN_ROLES, csrf)
        if confirm != "1":
            return _error(request, 400, "Révocation non confirmée",
                          "Cochez « Confirmer » pour révoquer une borne.", account)
        services = _services(request)
        if not enrollment.revoke_device(services, device_id[:64], account.username):
            raise review.NotFound("Cette borne n'existe pas.")
        with services.db() as db, db.begin():
            audit.record(db, actor=account.username, role=account.role, action="revoke_device",
                         detail=device_id[:64], ip=_ip(request))
        return _redirect("/console/fleet?ok=revoked")

    # ---- the citizen's status page (no login)

    @app.get("/statut")
    def status_form(request: Request, lang: str = "fr"):
        lang, t = texts(lang)
        return _page(request, "status.html", lang=lang, t=t)

    @app.post("/statut")
    def status_answer(request: Request, number: str = Form(""), birth_date: str = Form(""), lang: str = Form("fr")):
        lang, t = texts(lang)
        number, birth_date = number.strip(), birth_date.strip()
        if len(number) > 40 or len(birth_date) > 10:
            return _page(request, "status.html", status_code=400, number=number[:40], error=t["too_long"],
                         lang=lang, t=t)
        try:
            answer = status.lookup(_services(request), number, birth_date)
        except status.TooManyAttempts:
            return _page(request, "status.html", status_code=429, number=number, error=t["too_many"], lang=lang, t=t)
        return _page(request, "status.html", number=number, birth_date=birth_date, answer=answer, asked=True,
                     lang=lang, t=t)

