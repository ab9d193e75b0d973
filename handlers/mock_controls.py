"""The mock's own controls (openapi/mock-controls.yaml), mounted only by ``consulting mock``."""

from __future__ import annotations

from connexion.context import scope

from consulting import web
from consulting.errors import ApiError, ErrorCode
from consulting.providers import FixedSms
from consulting.scenarios import ScenarioStore

SCENARIOS_KEY = "consulting_scenarios"


def _store() -> ScenarioStore:
    store: ScenarioStore = scope["state"][SCENARIOS_KEY]
    return store


def reset() -> web.Reply:
    store = _store()
    store.reset()
    return web.ok([store.current])


def load_scenario(name: str) -> web.Reply:
    _store().load(name)
    return web.ok([name])


def last_sms(phone_number: str) -> web.Reply:
    sms = web.resources().sms
    code = sms.last_sent.get(phone_number) if isinstance(sms, FixedSms) else None
    if code is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no code sent to {phone_number}")
    return web.ok([{"phone_number": phone_number, "code": code}])
