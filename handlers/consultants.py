"""Consultant accounts (2.1): /api/consultant/signin, register, login, logout."""

from __future__ import annotations

from typing import Any

from consulting.web import Reply
from handlers import _accounts
from services.actors import Role


def signin(body: dict[str, Any]) -> Reply:
    return _accounts.signin(Role.CONSULTANT, body)


async def register(body: dict[str, Any]) -> Reply:
    return await _accounts.register(Role.CONSULTANT, body)


async def login(body: dict[str, Any]) -> Reply:
    return await _accounts.login(Role.CONSULTANT, body)


def logout(token_info: dict[str, Any]) -> Reply:
    return _accounts.logout(Role.CONSULTANT, token_info)
