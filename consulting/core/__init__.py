"""The core: what every layer above may use and what knows nothing of HTTP or of the rules.

Settings, the database, errors and the error table, the resources built from the settings,
the actor behind a request, the outside world's providers, money and time. It imports only
``models`` and ``consulting.spec`` of this project (``lint-imports`` checks it).
"""
