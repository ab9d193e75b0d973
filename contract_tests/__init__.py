"""Contract tests: Schemathesis over openapi/consulting.yaml, plus checks of the envelope.

``pytest contract_tests`` runs them in-process against our ASGI app on a fresh database;
``consulting contract --base-url URL`` runs the same checks against any running server.
"""
