"""The mock's own controls (openapi/mock-controls.yaml), mounted only by ``consulting mock``."""

from __future__ import annotations

from connexion.context import scope

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
    """``[{phone_number, code}]``, or ``[]`` when the mock has sent that phone no code."""
    sms = resources().sms
    code = sms.last_sent.get(phone_number) if isinstance(sms, FixedSms) else None
    return ok([] if code is None else [{"phone_number": phone_number, "code": code}])
