"""Who is asking, and whether they may: the dependencies every console route declares.

A route names its requirement in its signature and nothing else::

    def fleet_page(request: Request, account: Account = Depends(require(*FLEET))): ...
    def revoke(..., account: Account = Depends(posted(*SETUP))): ...

:func:`require` gives the signed-in account or refuses: no session (or an
expired one) raises :class:`LoginRequired`, which sends the browser to the
login page; a role not named raises ``review.Forbidden``, the 403 page.
:func:`posted` does the same for a form, then checks the session's CSRF
token (:class:`BadForm`), so the order of the refusals is always: login,
role, token. An account whose password is temporary (an administrator
reset it) is sent to the password page from every page and form
(:class:`PasswordChangeRequired`, right after the login), except those
declared ``temporary_ok`` (the password page itself, logging out). :func:`polling_reviewer` is for the help banner's script:
its refusals are JSON (:class:`ScriptRefused`). ``central.console.pages`` answers each
refusal, whichever router raised it.
"""

from __future__ import annotations

import hmac
from functools import cache
from typing import Callable

from fastapi import Depends, Form, Request

from central import accounts, review
from central.accounts import Account
from central.context import Services
from central.models import Role

SESSION_COOKIE = "console_session"
#: Agents (their own mairie) and supervisors (every mairie): the queue, the dossiers, the help banner.
REVIEWERS = (Role.AGENT, Role.SUPERVISOR)
#: Who sees the kiosks.
FLEET = (Role.TECHNICIAN, Role.ADMIN, Role.SUPERVISOR)
#: Who sets kiosks up and down: enrollment tokens, the mairies' settings, revocation.
SETUP = (Role.TECHNICIAN, Role.ADMIN)


class LoginRequired(Exception):
    """No open session: the browser is sent to the login page."""


class PasswordChangeRequired(Exception):
    """A temporary password: the browser is sent to the password page until the account has chosen its own."""


class BadForm(Exception):
    """A POST without the right CSRF token: refused before anything else is done."""


class ScriptRefused(Exception):
    """A refusal to a page's script rather than to a person: answered in JSON (``{"error", "detail"}``)."""

    def __init__(self, status_code: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.error, self.detail = status_code, error, detail


def services_of(request: Request) -> Services:
    """The service's handles (database, keys, blobs): a dependency, and for the few helpers without one."""
    return request.app.state.services


def has_role(account: Account, roles: tuple[Role, ...]) -> bool:
    return account.role in {role.value for role in roles}


def token_matches(account: Account, csrf: str | None) -> bool:
    """The form's ``csrf`` is the session's token (compared in constant time)."""
    return hmac.compare_digest(account.csrf.encode(), (csrf or "").encode())


@cache
def require(*roles: Role, temporary_ok: bool = False) -> Callable[..., Account]:
    """A dependency: the signed-in account, refused unless its role is one of ``roles`` (any role when none).

    An account with a temporary password is refused too (sent to the password page), unless ``temporary_ok``.
    """

    def signed_in(request: Request, services: Services = Depends(services_of)) -> Account:
        account = accounts.authenticate(services, request.cookies.get(SESSION_COOKIE))
        if account is None:
            raise LoginRequired()
        if account.must_change_password and not temporary_ok:
            raise PasswordChangeRequired()
        if roles and not has_role(account, roles):
            raise review.Forbidden("Cette page n'est pas ouverte à votre rôle.")
        return account

    return signed_in


@cache
def posted(*roles: Role, temporary_ok: bool = False) -> Callable[..., Account]:
    """A dependency for a form: as :func:`require`, then the form's ``csrf`` must be the session's token."""

    def with_token(account: Account = Depends(require(*roles, temporary_ok=temporary_ok)), csrf: str = Form("")) -> Account:
        if not token_matches(account, csrf):
            raise BadForm()
        return account

    return with_token


def polling_reviewer(request: Request, services: Services = Depends(services_of)) -> Account:
    """A dependency for the help banner's script (the one that polls): an agent or a supervisor, as
    :func:`require`, but refusals are JSON (401, 403), and asking does not keep an idle session open (the
    person must still click within the idle time)."""
    account = accounts.authenticate(services, request.cookies.get(SESSION_COOKIE), refresh=False)
    if account is None:
        raise ScriptRefused(401, "login_required", "Session expirée : reconnectez-vous.")
    if account.must_change_password:
        raise ScriptRefused(403, "password_change_required", "Choisissez d'abord un nouveau mot de passe.")
    if not has_role(account, REVIEWERS):
        raise ScriptRefused(403, "forbidden", "Réservé aux agents et aux superviseurs.")
    return account


def polled_form(account: Account = Depends(polling_reviewer), csrf: str = Form("")) -> Account:
    """A dependency for what a page's script posts by itself (an open dossier saying it still is): as
    :func:`polling_reviewer` (JSON refusals, an idle session not kept open), then the session's CSRF token."""
    if not token_matches(account, csrf):
        raise ScriptRefused(403, "bad_form", "Formulaire refusé : rechargez la page.")
    return account
