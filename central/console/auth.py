"""Logging in and out, and changing one's password (``central.accounts`` holds the rules).

The login form comes before any session, so its CSRF token is a
double-submit cookie (:data:`LOGIN_COOKIE`) rather than the session's.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response

from central import accounts
from central.accounts import Account
from central.clients import client_address
from central.console.access import SESSION_COOKIE, posted, require, services_of
from central.console.pages import PASSWORD_PAGE, PREFIX, home, page, redirect, safe_next
from central.context import Services

LOGIN_COOKIE = "console_login"  # double-submit token of the login form, before any session exists

router = APIRouter(prefix=PREFIX)


def _set_cookie(response: Response, services: Services, name: str, value: str, path: str) -> None:
    response.set_cookie(name, value, path=path, httponly=True, samesite="strict",
                        secure=services.config.secure_cookies)


def _login_form(request: Request, services: Services, error: str | None = None, status_code: int = 200,
                next_url: str = ""):
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, status_code, error=error, login_csrf=token,
                    next_url=safe_next(next_url))
    _set_cookie(response, services, LOGIN_COOKIE, token, "/console/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "", services: Services = Depends(services_of)):
    return _login_form(request, services, next_url=next)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
          next: str = Form(""), services: Services = Depends(services_of)):
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
        return _login_form(request, services, "Le formulaire a expiré : saisissez à nouveau vos identifiants.", 403,
                           next)
    try:
        token, _ = accounts.login(services, username, password, client_address(request))
    except accounts.LoginThrottled as exc:
        response = _login_form(request, services, str(exc), 429, next)
        response.headers["Retry-After"] = str(exc.wait.retry_after_s)
        return response
    except accounts.LoginFailed as exc:
        return _login_form(request, services, str(exc), 401, next)
    account = accounts.authenticate(services, token)
    # A temporary password goes to the password page first; every other page would send it there anyway.
    response = redirect(PASSWORD_PAGE if account.must_change_password else safe_next(next) or home(account))
    _set_cookie(response, services, SESSION_COOKIE, token, "/console")
    response.delete_cookie(LOGIN_COOKIE, path="/console/login", httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, account: Account = Depends(posted(temporary_ok=True)), services: Services = Depends(services_of)):
    accounts.logout(services, request.cookies.get(SESSION_COOKIE), client_address(request))
    response = redirect("/console/login?ok=out")
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@router.get("/password")
def password_form(request: Request, account: Account = Depends(require(temporary_ok=True))):
    return page(request, "password.html", account)


@router.post("/password")
def password_change(request: Request, account: Account = Depends(posted(temporary_ok=True)), old: str = Form(""),
                    new: str = Form(""), confirm: str = Form(""), services: Services = Depends(services_of)):
    error = None
    if new != confirm:
        error = "Les deux saisies du nouveau mot de passe diffèrent."
    else:
        try:
            accounts.change_password(services, account.id, old, new,
                                     keep_token=request.cookies.get(SESSION_COOKIE), ip=client_address(request))
        except accounts.AccountError as exc:
            error = str(exc)
    if error:
        return page(request, "password.html", account, 400, error=error)
    return redirect(home(account) + "?ok=password")


@router.post("/session")
def keep_open(account: Account = Depends(posted()), services: Services = Depends(services_of)):
    """The page's script, when the agent works in a page without sending it (``static/session.js``): the
    session is as fresh as a click (``posted`` refreshes it), and says how long it now lasts."""
    return JSONResponse({"idle_seconds": services.config.session_idle_minutes * 60})
