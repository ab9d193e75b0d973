"""``consulting proxy``: a validation proxy in front of any implementation of the contract.

It forwards every request to the upstream as it came and every answer back as it went
(``forward``), judges each exchange with the checks ``consulting contract`` uses
(``contract_tests.verdicts``), keeps a live report of what broke the contract (``report``),
shows it as JSON and as a small HTML page (``page``), and with ``--errors`` answers a request
that breaks the contract itself, with the contract's own envelope (``refusal``). ``app`` ties
them together; ``server`` runs it under uvicorn. Like the rest of ``contract_tests`` it needs
only the spec, none of the backend.
"""
