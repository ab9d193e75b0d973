"""Signin, register, login and logout are the same for buyers and consultants.

Register and login hash passwords with argon2, which is slow on purpose (tens of milliseconds
and 64 MiB each). They run in a small pool of their own, so that a burst of logins waits for
that pool instead of taking every worker thread from the requests that do not hash.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from anyio import CapacityLimiter, to_thread

from consulting import web
from services import accounts
from services.actors import Role

PASSWORD_HASHING = CapacityLimiter(max(1, os.cpu_count() or 1))


def signin(role: Role, body: dict[str, Any]) -> web.Reply:
    accounts.signin(web.resources(), role, body["phone_number"], body["verification_code"])
    return web.ok()


async def register(role: Role, body: dict[str, Any]) -> web.Reply:
    res = web.resources()
    work = partial(accounts.register, res, role, **body)
    account_id = await to_thread.run_sync(work, limiter=PASSWORD_HASHING)
    return web.ok([account_id])


async def login(role: Role, body: dict[str, Any]) -> web.Reply:
    res = web.resources()
    work = partial(
        accounts.login, res, role, body["username"], body["password"], web.client_address()
    )
    account_id, token = await to_thread.run_sync(work, limiter=PASSWORD_HASHING)
    settings = res.settings
    cookie = web.session_cookie(token, settings.session_lifetime_seconds, settings.cookie_secure)
    return web.ok([account_id], {"Set-Cookie": cookie, web.SESSION_HEADER: token})


def logout(role: Role, token_info: dict[str, Any]) -> web.Reply:
    res = web.resources()
    accounts.logout(res, web.actor(token_info), role)
    return web.ok(headers={"Set-Cookie": web.session_cookie("", 0, res.settings.cookie_secure)})
