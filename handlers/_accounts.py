"""Signin, register, login and logout are the same for buyers and consultants.

Register and login hash passwords with argon2, which is slow and memory-hungry on purpose.
They run in pools of their own (``Resources.hashing``, ``consulting.core.resources``), so that a
burst of them waits for that pool instead of taking every worker thread from the requests that
do not hash, and apart from each other: a login that finds its slots taken waits in a short
queue, a registration never waits (42903 at once), so that registrations never delay logins.
"""

from __future__ import annotations

from functools import partial
from typing import Any

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


def signin(role: Role, body: dict[str, Any]) -> Reply:
    ticket = accounts.signin(resources(), role, body["phone_number"], body["verification_code"])
    return ok([ticket])


async def register(role: Role, body: dict[str, Any]) -> Reply:
    res = resources()
    work = partial(
        accounts.register,
        res,
        role,
        username=body["username"],
        password=body["password"],
        password_again=body["password_again"],
        client_address=client_address(),
        realname=body.get("realname"),
        email=body.get("email"),
        gender=body.get("gender"),
        phone_number=body.get("phone_number"),
        phone_ticket=body.get("phone_ticket"),
    )
    account_id = await res.hashing.registration.run(work)
    return ok([account_id])


async def login(role: Role, body: dict[str, Any]) -> Reply:
    res = resources()
    work = partial(accounts.login, res, role, body["username"], body["password"], client_address())
    account_id, token = await res.hashing.login.run(work)
    settings = res.settings
    cookie = session_cookie(token, settings.session_lifetime_seconds, settings.cookie_secure)
    return ok([account_id], {"Set-Cookie": cookie, SESSION_HEADER: token})


def logout(role: Role, token_info: dict[str, Any]) -> Reply:
    res = resources()
    accounts.logout(res, actor(token_info), role)
    return ok(headers={"Set-Cookie": session_cookie("", 0, res.settings.cookie_secure)})
