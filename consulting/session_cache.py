"""Each worker's short memory of resolved session tokens (see services/sessions.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache

from models._common import utcnow
from services.actors import Actor


@dataclass(frozen=True)
class _Resolved:
    actor: Actor
    expires_at: datetime


class SessionCache:
    """Tokens this worker resolved recently: digest -> actor, for a few seconds, bounded.

    Thread-safe: the security hook reads it on the event loop, logout writes it from a handler
    thread.
    """

    def __init__(self, seconds: float, size: int) -> None:
        self.enabled = seconds > 0
        self._entries: TTLCache[str, _Resolved] = TTLCache(maxsize=max(size, 1), ttl=seconds)
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        if not self.enabled:
            return None
        with self._lock:
            found = self._entries.get(digest)
        if found is None or found.expires_at <= utcnow():
            return None
        return found.actor

    def put(self, digest: str, actor: Actor, expires_at: datetime) -> None:
        if self.enabled:
            with self._lock:
                self._entries[digest] = _Resolved(actor, expires_at)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def forget(self, session_id: int) -> None:
        with self._lock:
            stale = [k for k, v in self._entries.items() if v.actor.session_id == session_id]
            for digest in stale:
                del self._entries[digest]
