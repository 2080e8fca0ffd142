"""What a partner must never read, computed from the raw database, and a scan of answers for it.

:class:`Oracle` reads every collection directly (not through the gateway) and lists, for one
partner's channels:

- the ids of other channels' records: channels, locations, orders, payments, visits,
  consent records, identities, ledger entries, merges (a merge is the partner's when it moved
  one of its identities), other owners' segments, audit entries, stock movements (at other
  channels' locations), transfers (unless both ends are its channels'), products offered in
  none of its channels (and on none of its orders), members it may not see (members holding
  no identity in its channels, unless merged by a merge of its own, or named by one of its
  own records), and campaigns covering none of its channels (by id or kind) and their
  coupons (ids and codes);
- personal data: every member's name, phone and email, and the external ids of other
  channels' identities (a rural outlet's is a phone number);
- the names of every other API key (who merged, who adjusted stock, who placed an order).

:meth:`Oracle.leaks` scans a whole response (data, errors, extensions) and every string in it
that decodes as base64 JSON (a cursor), and returns what it found.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.database import Database

# a stock level's id (stk_<sku>@<location>) is checked by its parts; a coupon's id may hold a -
TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:ch|loc|sku|mem|ord|pay|vis|mrg|cns|seg|aud|trf|mov|cmp|cpn)_[A-Za-z0-9_\-]+")
MASK = "***"
COLLECTIONS = ("channels", "locations", "products", "members", "identities", "orders",
               "payments", "visits", "points_ledger", "merges", "api_keys", "inventory",
               "consents", "segments", "audit", "transfers", "stock_movements", "campaigns",
               "coupons")


@dataclass
class Oracle:
    channels: frozenset[str]
    own_key: str
    foreign_ids: set[str] = field(default_factory=set)
    foreign_text: set[str] = field(default_factory=set)  # never contained in any string
    exact: set[str] = field(default_factory=set)  # never a whole string value of the data
    personal: set[str] = field(default_factory=set)
    own_ids: dict[str, set[str]] = field(default_factory=dict)  # by prefix: what it may see

    @classmethod
    async def read(cls, db: Database, *, channels: frozenset[str], own_key: str) -> Oracle:
        docs = {name: await db[name].find({}).to_list(None) for name in COLLECTIONS}
        oracle = cls(channels, own_key)
        oracle._build(docs)
        return oracle

    def mine(self, channel_id: str | None) -> bool:
        return channel_id in self.channels

    def _build(self, docs: dict[str, list[dict[str, Any]]]) -> None:
        own: set[str] = set()
        foreign: set[str] = set()

        def sort(doc_id: str, is_mine: bool) -> None:
            (own if is_mine else foreign).add(doc_id)

        for doc in docs["channels"]:
            sort(doc["_id"], self.mine(doc["_id"]))
        owner = "partner:" + ",".join(sorted(self.channels))
        for doc in docs["segments"]:  # a partner's segments are its channels' set's own
            sort(doc["_id"], doc["owner"] == owner)
        for doc in docs["audit"]:  # erasures and exports: admin keys only
            sort(doc["_id"], False)
        for name in ("locations", "orders", "payments", "visits", "consents"):
            for doc in docs[name]:
                sort(doc["_id"], self.mine(doc.get("channel_id")))
        location_channel = {doc["_id"]: doc["channel_id"] for doc in docs["locations"]}
        for doc in docs["inventory"]:  # a stock level's id names its SKU and location
            sort(f"stk_{doc['sku']}@{doc['location_id']}",
                 self.mine(location_channel.get(doc["location_id"])))
        for doc in docs["stock_movements"]:  # at a location
            sort(doc["_id"], self.mine(location_channel.get(doc["location_id"])))
        for doc in docs["transfers"]:  # between two locations: both must be its own
            sort(doc["_id"], self.mine(doc["from_channel_id"]) and self.mine(doc["to_channel_id"]))
        own_member_ids = {d["member_id"] for name in ("orders", "payments", "visits",
                                                     "points_ledger", "identities")
                          for d in docs[name] if self.mine(d.get("channel_id"))}
        own_skus = {line["sku"] for d in docs["orders"] if self.mine(d["channel_id"])
                    for line in d["lines"]}
        for doc in docs["products"]:
            offered = any(self.mine(o["channel_id"]) for o in doc.get("offers", []))
            sort(doc["_id"], offered or doc["_id"] in own_skus)
        for doc in docs["merges"]:
            is_mine = bool(set(doc.get("channel_ids", [])) & self.channels)
            sort(doc["_id"], is_mine)
            if is_mine and doc["status"] == "ACTIVE":
                own_member_ids.add(doc["merged_id"])
        for doc in docs["members"]:
            sort(doc["_id"], doc["_id"] in own_member_ids)
            if doc.get("enrolled_by") == self.own_key:
                continue  # what the partner wrote itself
            self.personal |= {doc[k] for k in ("phone", "email") if doc.get(k)}
            self.exact.add(doc["name"])
        own_external = {d["external_id"] for d in docs["identities"] if self.mine(d["channel_id"])}
        for doc in docs["identities"]:
            if not self.mine(doc["channel_id"]):
                self.foreign_text.add(doc["_id"])
                if doc["external_id"] not in own_external and len(doc["external_id"]) >= 6:
                    self.foreign_text.add(doc["external_id"])
        for doc in docs["merges"]:  # identities a merge moved, even since unlinked
            for identity_id in doc["identity_ids"]:
                channel_id, external_id = identity_id.split(":", 1)
                if not self.mine(channel_id):
                    self.foreign_text.add(identity_id)
                    if external_id not in own_external and len(external_id) >= 6:
                        self.foreign_text.add(external_id)
        for doc in docs["points_ledger"]:
            if not self.mine(doc.get("channel_id")):
                self.foreign_text.add(doc["_id"])
        kinds = {doc["kind"] for doc in docs["channels"] if self.mine(doc["_id"])}
        own_campaigns = {doc["_id"] for doc in docs["campaigns"]
                         if set(doc["channel_ids"]) & self.channels
                         or set(doc["channel_kinds"]) & kinds}
        for doc in docs["campaigns"]:
            sort(doc["_id"], doc["_id"] in own_campaigns)
        for doc in docs["coupons"]:
            sort(f"cpn_{doc['_id']}", doc["campaign_id"] in own_campaigns)
            if doc["campaign_id"] not in own_campaigns:
                self.foreign_text.add(doc["_id"])
        self.exact |= {doc["name"] for doc in docs["api_keys"] if doc["name"] != self.own_key}
        self.exact |= {doc["merged_by"] for doc in docs["merges"]}
        self.foreign_ids = foreign - own
        self.foreign_text |= self.personal
        self.exact.discard(self.own_key)
        # a member named like a channel, location or product cannot be told from it
        self.exact -= {doc["name"] for name in ("channels", "locations", "products")
                       for doc in docs[name]}
        self.own_ids = {}
        for doc_id in own:
            self.own_ids.setdefault(doc_id.split("_", 1)[0] + "_", set()).add(doc_id)

    def withheld(self, value: object) -> bool:
        """Whether ``value`` is someone's personal datum or a key name: never sent as input."""
        return value in self.exact or value in self.personal

    def not_its_own(self, value: object) -> bool:
        """Whether ``value`` is any secret of others (an identity of another channel too):
        never written as the partner's own data."""
        return self.withheld(value) or value in self.foreign_text

    # -- scanning --------------------------------------------------------------------------

    def leaks(self, body: dict[str, Any], *, request: str, echoes: bool = False) -> list[str]:
        """Everything in ``body`` the partner must not read. ``request`` (the document and
        its variables) is what the partner sent: an error message may repeat it, and so may
        the data of a write (``echoes``), such as "Unknown channel ch_..." in a payload."""
        found: list[str] = []
        self._scan(body.get("data"), "data", found, request=request if echoes else None)
        for error in body.get("errors") or []:
            self._scan(error, "errors", found, request=request)
        self._scan(body.get("extensions"), "extensions", found, request=request)
        return found

    def _scan(self, value: Any, path: str, found: list[str], *, request: str | None) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._scan(item, f"{path}.{key}", found, request=request)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                self._scan(item, f"{path}.{n}", found, request=request)
        elif isinstance(value, str):
            self._text(value, path, found, request=request)
            decoded = _decoded(value)
            if decoded is not None:
                self._text(decoded, f"{path} (decoded {value[:24]})", found, request=request)

    def _text(self, text: str, path: str, found: list[str], *, request: str | None) -> None:
        if text in self.exact and (request is None or text not in request):
            found.append(f"{path}: {text!r} (a personal datum or a key name)")
        for token in TOKEN.findall(text):
            if token in self.foreign_ids and (request is None or token not in request):
                found.append(f"{path}: {token} (another channel's record)")
        for secret in self.foreign_text:
            if secret in text and (request is None or secret not in request):
                found.append(f"{path}: {secret!r} in {text[:80]!r} (another channel's "
                             "identity or entry, or a personal datum)")


def _decoded(text: str) -> str | None:
    """``text`` base64url-decoded, when that gives JSON (what a cursor is made of)."""
    if len(text) < 8 or not re.fullmatch(r"[A-Za-z0-9_\-]+=*", text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return raw
