"""Signin, register, login and logout are the same for buyers and consultants.

Register and login hash passwords with argon2, which is slow and memory-hungry on purpose.
They run in a small pool of their own, so that a burst of logins waits for that pool instead
of taking every worker thread from the requests that do not hash.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from anyio import CapacityLimiter, to_thread

from consulting.core.actors import Role
from handlers._common import (
    SESSION_HEADER,
    Reply,
    actor,
    client_address,
    ok,
    resources,
    session_cookie,
)
from services import accounts

PASSWORD_HASHING = CapacityLimiter(max(1, os.cpu_count() or 1))


def signin(role: Role, body: dict[str, Any]) -> Reply:
    accounts.signin(resources(), role, body["phone_number"], body["verification_code"])
    return ok()


async def register(role: Role, body: dict[str, Any]) -> Reply:
    work = partial(
        accounts.register,
        resources(),
        role,
        username=body["username"],
        password=body["password"],
        password_again=body["password_again"],
        realname=body.get("realname"),
        email=body.get("email"),
        gender=body.get("gender"),
        phone_number=body.get("phone_number"),
    )
    account_id = await to_thread.run_sync(work, limiter=PASSWORD_HASHING)
    return ok([account_id])


async def login(role: Role, body: dict[str, Any]) -> Reply:
    res = resources()
    work = partial(accounts.login, res, role, body["username"], body["password"], client_address())
    account_id, token = await to_thread.run_sync(work, limiter=PASSWORD_HASHING)
    settings = res.settings
    cookie = session_cookie(token, settings.session_lifetime_seconds, settings.cookie_secure)
    return ok([account_id], {"Set-Cookie": cookie, SESSION_HEADER: token})


def logout(role: Role, token_info: dict[str, Any]) -> Reply:
    res = resources()
    accounts.logout(res, actor(token_info), role)
    return ok(headers={"Set-Cookie": session_cookie("", 0, res.settings.cookie_secure)})
