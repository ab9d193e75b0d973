"""``consulting mock``: the real app on a throw-away database, seeded with named scenarios, or
the documented examples alone (``--static``), with what a frontend developer needs on top:
CORS for localhost, Prism's ``Prefer`` controls, its own control operations."""
