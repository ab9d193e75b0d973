"""Consultant accounts (2.1): /api/consultant/signin, register, login, logout."""

from __future__ import annotations

from typing import Any

from consulting.core.actors import Role
from handlers import _accounts
from handlers._common import Reply


def signin(body: dict[str, Any]) -> Reply:
    return _accounts.signin(Role.CONSULTANT, body)


async def register(body: dict[str, Any]) -> Reply:
    return await _accounts.register(Role.CONSULTANT, body)


async def login(body: dict[str, Any]) -> Reply:
    return await _accounts.login(Role.CONSULTANT, body)


def logout(token_info: dict[str, Any]) -> Reply:
    return _accounts.logout(Role.CONSULTANT, token_info)
