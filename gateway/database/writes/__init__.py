"""Write commands, one function per command shape. Rules live in ``gateway.commerce``.

Every function here sends exactly one database command, atomic on one document (or an
``update_many`` whose per-document effect is idempotent), so that the rules above can count,
order and compensate them.
"""
