"""Connexion, with the work it repeats on every request done once or done faster.

Connexion 3.3 rebuilds per request what only depends on the operation, and encodes JSON with
the standard library. Each piece here does the same work once, or faster, and must answer
exactly as stock Connexion with the contract's validation (``consulting.web.validation``)
does: tests/test_tuning_equivalence.py sends one transcript through both and compares them,
so that a Connexion upgrade is a diff of that test, not an investigation.

- ``encoding``: responses by orjson (Connexion's ``jsonifier`` hook).
- ``security``: the security hook's signature inspected once (the ``security_map`` hook).
- ``validators``: validators built once per schema; the parsed query and form left on the
  scope (the ``validator_map`` hook).
- ``calls``: each handler's call planned when the app is built (internals: see its docstring).
- ``app``: :class:`App`, body-less validation built once, the Swagger UI's router stepped
  over (internals: see its docstring).
"""

from consulting.web.tuning.app import App
from consulting.web.tuning.encoding import OrjsonJsonifier
from consulting.web.tuning.security import SECURITY_MAP
from consulting.web.tuning.validators import validator_map

__all__ = ["SECURITY_MAP", "App", "OrjsonJsonifier", "validator_map"]
