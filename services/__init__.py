"""Business rules: plain functions over a :class:`~consulting.core.resources.Resources`.

Each public function is named by the operation it serves (``services.posts.publish`` for
``handlers.posts.publish``) and is one unit of work: it opens its own transaction
(``res.db.unit_of_work()``) or sends one hot read (``res.db.read``), so the handlers stay thin
and the tests call these functions directly, without HTTP. Write paths lock the post row first
whenever they touch a post, so that concurrent requests on PostgreSQL and MariaDB queue in one
order. State changes go through the contract's state machines (``services.transitions``).
"""
