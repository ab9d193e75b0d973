"""Security handlers that inspect the hook's signature once (Connexion's ``security_map`` hook)."""

from __future__ import annotations

import functools

from connexion.security import (
    AbstractSecurityHandler,
    ApiKeySecurityHandler,
    BearerSecurityHandler,
)


class _SignatureOnce:
    """Security handlers that inspect the hook's signature once, not on every request."""

    _accepts_kwarg = staticmethod(functools.cache(AbstractSecurityHandler._accepts_kwarg))


class CookieSecurityHandler(_SignatureOnce, ApiKeySecurityHandler):
    pass


class TokenSecurityHandler(_SignatureOnce, BearerSecurityHandler):
    pass


SECURITY_MAP = {"apiKey": CookieSecurityHandler, "bearer": TokenSecurityHandler}
