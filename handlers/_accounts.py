"""Signin, register, login and logout are the same for buyers and consultants."""

from __future__ import annotations

from typing import Any

from consulting import web
from services import accounts
from services.actors import Role


def signin(role: Role, body: dict[str, Any]) -> web.Reply:
    accounts.signin(web.resources(), role, body["phone_number"], body["verification_code"])
    return web.ok()


def register(role: Role, body: dict[str, Any]) -> web.Reply:
    account_id = accounts.register(web.resources(), role, **body)
    return web.ok([account_id])


def login(role: Role, body: dict[str, Any]) -> web.Reply:
    res = web.resources()
    account_id, token = accounts.login(
        res, role, body["username"], body["password"], web.client_address()
    )
    settings = res.settings
    cookie = web.session_cookie(token, settings.session_lifetime_seconds, settings.cookie_secure)
    return web.ok([account_id], {"Set-Cookie": cookie, web.SESSION_HEADER: token})


def logout(role: Role, token_info: dict[str, Any]) -> web.Reply:
    accounts.logout(web.resources(), web.actor(token_info), role)
    settings = web.resources().settings
    return web.ok(headers={"Set-Cookie": web.session_cookie("", 0, settings.cookie_secure)})
