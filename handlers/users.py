"""Buyer accounts (1.1): /api/user/signin, register, login, logout."""

from __future__ import annotations

from typing import Any

from consulting.core.actors import Role
from handlers import _accounts
from handlers._common import Reply


def signin(body: dict[str, Any]) -> Reply:
    return _accounts.signin(Role.BUYER, body)


async def register(body: dict[str, Any]) -> Reply:
    return await _accounts.register(Role.BUYER, body)


async def login(body: dict[str, Any]) -> Reply:
    return await _accounts.login(Role.BUYER, body)


def logout(token_info: dict[str, Any]) -> Reply:
    return _accounts.logout(Role.BUYER, token_info)
