"""What every handler uses: this request's resources and actor, the envelope, the hot-read path.

Handlers import this and ``services`` only; they never touch the database or Connexion's
request internals themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlencode

from connexion.context import scope
from starlette.concurrency import run_in_threadpool

from consulting.core.actors import Actor
from consulting.core.envelope import envelope
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.resources import Resources
from services.paging import Listing

# Where the HTTP layer leaves the process's resources on every request's scope state.
RESOURCES_KEY = "consulting_resources"
SESSION_COOKIE = "consulting_session"
SESSION_HEADER = "X-Session-Token"

Reply = tuple[dict[str, Any], int, dict[str, str]]
P = ParamSpec("P")
T = TypeVar("T")


def ok(content: list[Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
    return envelope(0, "", content), 200, headers or {}


def one_page(found: Listing[Any]) -> Reply:
    """A page of a list; when there is a next one, its cursor in ``X-Next-Cursor`` and its
    address in ``Link: <...>; rel="next"`` (this request's, the cursor in place of the page)."""
    if found.next_cursor is None:
        return ok(found.items)
    raw = scope.get("query_string", b"").decode("latin-1")
    kept = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k not in _PAGE_KEYS]
    query = urlencode([*kept, ("cursor", found.next_cursor)])
    link = f'<{scope.get("root_path", "")}{scope["path"]}?{query}>; rel="next"'
    return ok(found.items, {"X-Next-Cursor": found.next_cursor, "Link": link})


_PAGE_KEYS = ("page", "cursor")


def resources() -> Resources:
    # Connexion's ``scope``, not ``request.scope``: the ``request`` proxy builds a new
    # request object on every access.
    found: Resources = scope["state"][RESOURCES_KEY]
    return found


async def read(
    service: Callable[Concatenate[Resources, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Call a read-only service with this request's resources (see :func:`read_with`)."""
    return await read_with(resources(), service, *args, **kwargs)


async def read_with(
    res: Resources,
    service: Callable[Concatenate[Resources, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run a read-only service call where it is cheapest (see ``Database.reads_inline``).

    The hot reads (lists, session lookups) are ``async`` and come through here: on SQLite
    the call runs right on the event loop, sparing two thread switches per request; on
    PostgreSQL or MariaDB it runs in the worker thread pool, so the loop serves others while
    it waits on the network. Writes stay in plain ``def`` handlers, which Connexion runs in
    the thread pool: an SQLite writer may wait for the lock, and that must not stop the loop.
    """
    if res.db.reads_inline:
        return service(res, *args, **kwargs)
    return await run_in_threadpool(service, res, *args, **kwargs)


def actor(token_info: dict[str, Any]) -> Actor:
    found: Actor = token_info["actor"]
    return found


def client_address() -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def one_id_of(body: dict[str, Any] | None, *names: str) -> int:
    """The id given under exactly one of ``names`` (cancel/delete accept post_id or order_id)."""
    given = [body[name] for name in names if body and body.get(name) is not None]
    if len(given) != 1:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"give exactly one of {', '.join(names)}")
    value: int = given[0]
    return value


def session_cookie(token: str, max_age: int, secure: bool) -> str:
    attributes = f"{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    return attributes + ("; Secure" if secure else "")
