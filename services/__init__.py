"""Business rules: plain functions over a :class:`~consulting.resources.Resources`.

Each public function is one unit of work: it opens its own transaction through
``res.db.transaction()`` (or ``res.db.reading()``), so the handlers stay thin and the tests call
these functions directly, without HTTP. Write paths lock the post row first whenever they touch
a post, so that concurrent requests on PostgreSQL and MariaDB queue in one order.
"""
