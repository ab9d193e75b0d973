"""Operation handlers, named by the spec's operationIds (``handlers.<resource>.<verb>``).

Each takes Connexion's validated input, calls one service function and returns the envelope.
"""
