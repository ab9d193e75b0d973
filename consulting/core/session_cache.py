"""Each worker's short memory of resolved session tokens (see services/sessions.py)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from consulting.core.actors import Actor


class SessionCache:
    """Tokens this worker resolved recently: digest -> actor, for a few seconds, bounded.

    Every request with a session reads it, so a read is one dict lookup and one clock reading:
    each entry keeps the moment it must be forgotten, the earlier of "cached long enough" and
    the session's own expiry, as a ``time.time()`` number. When full, the oldest entry goes.
    Thread-safe: the security hook reads it on the event loop, logout writes it from a handler
    thread.
    """

    def __init__(self, seconds: float, size: int) -> None:
        self.enabled = seconds > 0
        self._seconds = seconds
        self._size = max(size, 1)
        self._entries: dict[str, tuple[Actor, float]] = {}  # insertion order: oldest first
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        found = self._entries.get(digest) if self.enabled else None
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    def put(self, digest: str, actor: Actor, expires_at: datetime) -> None:
        if not self.enabled:
            return
        until = min(time.time() + self._seconds, expires_at.timestamp())
        with self._lock:
            self._entries.pop(digest, None)
            while len(self._entries) >= self._size:
                del self._entries[next(iter(self._entries))]
            self._entries[digest] = (actor, until)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def forget(self, session_id: int) -> None:
        with self._lock:
            stale = [k for k, (actor, _) in self._entries.items() if actor.session_id == session_id]
            for digest in stale:
                del self._entries[digest]
