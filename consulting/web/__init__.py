"""The HTTP layer: the ASGI app built from the contract by Connexion, what we tuned in
Connexion, request validation as the contract means it, the middleware, the envelope for every
error, and the security hooks that turn a session token into an actor.

It calls into ``handlers`` (through the spec's operationIds) and nothing calls into it but the
mock and the command line (``lint-imports`` checks it).
"""
