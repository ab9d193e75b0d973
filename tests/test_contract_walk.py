"""The contract run's depth walk against our app: it reaches a list's second page by cursor."""

from __future__ import annotations

from typing import Any

from consulting.spec import load_spec
from contract_tests.depth import Walk
from contract_tests.verdicts import Judge
from contract_tests.wire import Wire
from tests.api import Api
from tests.settings import TEST_NOTIFY_KEY


def test_the_walk_follows_a_list_to_its_next_page_by_cursor(api: Api, app: Any) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    for _ in range(2):
        api.publish(buyer, tags=[1])
    tokens = {"user": buyer.token, "consultant": consultant.token}
    walk = Walk(
        Judge(load_spec()),
        Wire(app=app),
        token=tokens.get,
        throwaway=tokens.get,
        ids={"user": buyer.id, "consultant": consultant.id},
        sms_code="123456",
        notify_key=TEST_NOTIFY_KEY,
    )
    sent = list(walk.run())
    followed = [s for s in sent if "cursor=" in s.exchange.query]
    assert sorted(s.label for s in followed) == [
        "GET /api/user/post/acquire",
        "GET /api/user/post/check",
    ]
    # the second pages are answers like any other: 2xx, one post, and nothing to report
    for step in followed:
        assert step.exchange.status == 200 and step.verdicts == [], step
        assert step.exchange.response_body.count(b'"post_id"') == 1
