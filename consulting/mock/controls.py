"""The mock's own controls (openapi/mock-controls.yaml), mounted only by ``consulting mock``."""

from __future__ import annotations

from connexion.context import scope

from consulting.core.errors import ApiError, ErrorCode
from consulting.core.providers import FixedSms
from consulting.mock.scenarios import ScenarioStore
from handlers._common import Reply, ok, resources

SCENARIOS_KEY = "consulting_scenarios"


def _store() -> ScenarioStore:
    store: ScenarioStore = scope["state"][SCENARIOS_KEY]
    return store


def reset() -> Reply:
    store = _store()
    store.reset()
    return ok([store.current])


def load_scenario(name: str) -> Reply:
    _store().load(name)
    return ok([name])


def last_sms(phone_number: str) -> Reply:
    sms = resources().sms
    code = sms.last_sent.get(phone_number) if isinstance(sms, FixedSms) else None
    if code is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no code sent to {phone_number}")
    return ok([{"phone_number": phone_number, "code": code}])
