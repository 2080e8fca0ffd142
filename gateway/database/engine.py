"""What the database engine can run, asked once per connection (:meth:`Database.features`).

The gateway sends the same commands to every engine except where an engine lacks a stage that
a query shape needs; then the shape differs, by name, and says so in the start-up log:

- **MongoDB 4.4 and later** has ``$unionWith``: one branch per member, ``$match`` (the member,
  then the page's bounds), ``$sort`` and ``$limit`` on the ``(member_id, time, _id)`` index, so
  at most ``first + 1`` index keys and documents are examined per member (the *union* shape).
- **mongo-java-server 1.46** (the test server) refuses it (error 40324): one ``$group`` of
  every matching document (the *grouped* shape). This engine has no secondary indexes: any
  ``$match`` reads the whole collection, so one pass is its cheapest shape.
- **mongomock 4.3** (the embedded store) refuses it (``NotImplementedError``): the grouped
  shape, for the same reason.

Both shapes return the same documents in the same order (``tests/test_latest.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pymongo.errors import OperationFailure

log = logging.getLogger("gateway.database")

UNRECOGNIZED_STAGE = 40324  # MongoDB's code for an unknown pipeline stage


@dataclass(frozen=True)
class Features:
    """What an engine runs that not every engine does."""

    union_with: bool

    @property
    def history_shape(self) -> str:
        """The name of the shape of a page of each member's history on this engine."""
        return "union" if self.union_with else "grouped"


async def probe(db: Any) -> Features:
    """Ask the engine (one ``aggregate`` that matches nothing, with a ``$unionWith``); only
    an unknown-stage refusal means "no", any other error is raised."""
    try:
        cursor = await db["orders"].aggregate([
            {"$match": {"_id": None}},
            {"$unionWith": {"coll": "orders", "pipeline": [{"$match": {"_id": None}}]}},
        ])
        await cursor.to_list(None)
        features = Features(union_with=True)
    except OperationFailure as exc:
        if exc.code != UNRECOGNIZED_STAGE:
            raise
        features = Features(union_with=False)
    except NotImplementedError:  # mongomock's answer to a stage it does not know
        features = Features(union_with=False)
    if features.union_with:
        log.info("history pages: one $unionWith branch per member, each read on its index "
                 "(at most first + 1 documents examined per member)")
    else:
        log.warning("history pages: this engine has no $unionWith; each page groups every "
                    "matching document of its members ($group), reading all of their "
                    "history (docs/performance.md, 'Cost independent of a member's past')")
    return features
