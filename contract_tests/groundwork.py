"""Posts under every tag, published before fuzzing, so that sequences reach accept and pay/init.

A consultant may accept a post only when it is paid or free (price 0), and pay/init succeeds only
when its ``total_fee`` equals the post's price in fen. Sequences rarely arrange either on their
own: a generated price is seldom 0, and no link can turn a price in yuan into fen. What did
reach them (publish, pay/init and notify replaying the spec's examples, which happen to agree on
post 42) depended on which ids the run's posts got and on how Schemathesis scheduled its steps,
which shifts with unrelated changes to the server.

So each tag gets free posts (the ``acquire -> accept`` link takes them while open) and posts at
the spec's example price, 199.00 yuan (generated ``total_fee`` values are often the example
19900, so ``acquire -> pay/init`` succeeds on them). Half the tags list a free post first and
half a priced one, so both links work from the first sequence on; later states (the buyer's
order, its cancellation) follow from an accepted post.

Everything goes through the contract's own operations with the run's buyer account, so this
works against any server by URL. It is best effort: a server that cannot list tags or publish
yet still gets every other check; the run only says why ``accept`` may never succeed.
"""

from __future__ import annotations

from contract_tests.auth import Sessions, SetupError
from contract_tests.verdicts import parse_body

POSTS_PER_KIND = 2
FREE, PRICED = "0", "199.00"  # PRICED: the Price example; the Fen example is 19900
TAG_LIST = "GET /api/tag/list"
PUBLISH = "POST /api/user/post/publish"


def publish_posts(sessions: Sessions, per_kind: int = POSTS_PER_KIND) -> str | None:
    """Publish ``per_kind`` free and priced posts under each tag; None, or why it could not."""
    tags = sessions.call(TAG_LIST).exchange
    if tags.status != 200:
        return f"{TAG_LIST} answered HTTP {tags.status}"
    try:
        tag_ids = [tag["tag_id"] for tag in parse_body(tags.response_body)["content"]]
    except (KeyError, TypeError):
        return f"{TAG_LIST} answered something other than a list of tags"
    if not tag_ids:
        return f"{TAG_LIST} listed no tags"
    buyer = sessions.accounts["user"]
    if buyer.id is None:
        return "the buyer's login gave no user id"
    for index, tag_id in enumerate(tag_ids):
        # Listed newest first: the kind published last is the one a sequence meets first.
        prices = [PRICED, FREE] if index % 2 == 0 else [FREE, PRICED]
        for price in prices:
            for number in range(1, per_kind + 1):
                form = {
                    "user_id": buyer.id,
                    "tag_id": [tag_id],
                    "title": f"contract run: post {number} at {price} yuan",
                    "content": "Published by the contract run before fuzzing.",
                    "price": price,
                }
                try:
                    published = sessions.call(PUBLISH, form=form, role="user").exchange
                except SetupError as exc:
                    return str(exc)
                if published.status != 200:
                    return f"{PUBLISH} answered HTTP {published.status}"
    return None
