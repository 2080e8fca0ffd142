"""``createCampaign`` and ``createCoupons``: the checks and writes of the brand's promotions.

A campaign needs at least one channel or channel kind, a window of at most
:data:`MAX_DAYS` days (``starts`` before ``ends``, wall-clock times read in each channel's
zone), and 1 to :data:`MAX_RULES` rules (gateway/commerce/promotions.py says what each kind
does and how campaigns combine). A rule's money is given per currency; every channel the
campaign covers today must find its currency in each amount list a rule has (``amounts``,
``minSpend``): a rule is never left to silently not apply in a channel it names. Both writes
are exactly once per idempotency key, and an admin's decision.

Coupons: explicit codes (3 to 32 letters, digits and dashes, stored upper case) or ``count``
generated ones (an optional prefix, a dash, and 10 random characters from an alphabet without
look-alikes: 32^10 possible codes, drawn with ``secrets``). A taken code refuses the whole
batch (``CONFLICT``); nothing of it is kept.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway import ids
from gateway.clock import now
from gateway.commerce import promotions, validation
from gateway.commerce.common import new_id
from gateway.commerce.idempotency import Once, check_not_done, run_once
from gateway.commerce.pricing import check_code
from gateway.database import Database
from gateway.database import campaigns as repo
from gateway.database.channels import list_channels
from gateway.database.query import Doc
from gateway.database.writes import campaigns as writes
from gateway.errors import AlreadyDone, Rejected, UserError, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

MAX_DAYS: Final = 366
MAX_RULES: Final = 20
MAX_SKUS: Final = 100
MAX_CODES: Final = 500
MAX_USES: Final = 10_000_000
TIERS: Final = ("BRONZE", "SILVER", "GOLD", "PLATINUM")
KINDS: Final = ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS")
_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
_GENERATED: Final = 10
_PREFIX: Final = re.compile(r"^[A-Z0-9]{1,12}$")


@dataclass(frozen=True)
class Rule:
    """A checked rule, as a campaign stores it."""

    kind: str
    target: str
    skus: tuple[str, ...] = ()
    percent_bp: int | None = None
    amounts: dict[str, int] = field(default_factory=dict)
    min_spend: dict[str, int] = field(default_factory=dict)
    tiers: tuple[str, ...] = ()

    def document(self) -> Doc:
        return {"kind": self.kind, "target": self.target, "skus": list(self.skus),
                "percent_bp": self.percent_bp, "amounts": self.amounts,
                "min_spend": self.min_spend, "tiers": list(self.tiers)}


@dataclass(frozen=True)
class NewCampaign:
    name: str
    channel_ids: tuple[str, ...]
    channel_kinds: tuple[str, ...]
    starts_local: datetime
    ends_local: datetime
    coupon_required: bool
    rules: tuple[Rule, ...]
    idempotency_key: str

    def fingerprint_input(self) -> list[Any]:
        return [self.name, list(self.channel_ids), list(self.channel_kinds),
                self.starts_local.isoformat(), self.ends_local.isoformat(),
                self.coupon_required, [r.document() for r in self.rules]]


def money_map(items: Sequence[tuple[str, int]], *, field: str, ceiling: int) -> dict[str, int]:
    """``(currency, minor units)`` pairs as a map: one per currency, 1 to ``ceiling``."""
    found: dict[str, int] = {}
    for i, (currency, minor) in enumerate(items):
        if len(currency) != 3 or not currency.isascii() or not currency.isupper():
            raise reject("INVALID", "currencyCode is an ISO 4217 code (three capital "
                         "letters).", field=f"{field}.{i}.currencyCode")
        if currency in found:
            raise reject("INVALID", f"{currency} is given twice.",
                         field=f"{field}.{i}.currencyCode")
        if not 1 <= minor <= ceiling:
            raise reject("INVALID", f"minorUnits is 1 to {ceiling}.",
                         field=f"{field}.{i}.minorUnits")
        found[currency] = minor
    return found


def check_rule(
    *, kind: str, target: str, skus: list[str] | None, percent: Decimal | None,
    amounts: list[tuple[str, int]] | None, min_spend: list[tuple[str, int]] | None,
    tiers: list[str] | None, field: str, ceiling: int,
) -> Rule:
    """One rule's shape (kind and target fit, the values its kind needs and no others)."""
    if kind == "FIXED_PRICE" and target != "SKUS":
        raise reject("INVALID", "A FIXED_PRICE rule targets SKUS.", field=f"{field}.target")
    checked: list[str] = []
    if target == "SKUS":
        if not skus or len(skus) > MAX_SKUS:
            raise reject("INVALID", f"A SKUS rule names 1 to {MAX_SKUS} SKUs.",
                         field=f"{field}.skus")
        checked = [ids.check(s, "sku_", field=f"{field}.skus.{i}") for i, s in enumerate(skus)]
    elif skus:
        raise reject("INVALID", "An ORDER rule names no SKUs.", field=f"{field}.skus")
    basis_points = None
    if kind == "PERCENT_OFF":
        if percent is None or not Decimal(0) < percent <= Decimal(100) or (
                percent * 100) != (percent * 100).to_integral_value():
            raise reject("INVALID", "percentOff is above 0 and at most 100, with at most two "
                         "decimals.", field=f"{field}.percentOff")
        if amounts:
            raise reject("INVALID", "A PERCENT_OFF rule has no amounts.",
                         field=f"{field}.amounts")
        basis_points = int(percent * 100)
    else:
        if percent is not None:
            raise reject("INVALID", f"A {kind} rule has no percentOff.",
                         field=f"{field}.percentOff")
        if not amounts:
            raise reject("INVALID", f"A {kind} rule gives an amount per currency.",
                         field=f"{field}.amounts")
    return Rule(kind=kind, target=target, skus=tuple(dict.fromkeys(checked)),
                percent_bp=basis_points,
                amounts=money_map(amounts or [], field=f"{field}.amounts", ceiling=ceiling),
                min_spend=money_map(min_spend or [], field=f"{field}.minSpend",
                                    ceiling=ceiling),
                tiers=tuple(t for t in TIERS if t in (tiers or ())))


def check_campaign(
    *, name: str, channels: list[str] | None, kinds: list[str] | None, starts: datetime,
    ends: datetime, coupon_required: bool, rules: list[Rule], idempotency_key: str,
) -> NewCampaign:
    """The campaign's shape; the rules are checked by :func:`check_rule`."""
    validation.idempotency_key(idempotency_key)
    validation.text(name, field="name", max_length=100)
    channel_ids = [ids.check(c, "ch_", field=f"channels.{i}")
                   for i, c in enumerate(channels or [])]
    if not channel_ids and not kinds:
        raise reject("INVALID", "A campaign covers at least one channel or channel kind.",
                     field="channels")
    if starts.tzinfo is not None or ends.tzinfo is not None or starts >= ends:
        raise reject("INVALID", "startsAt is before endsAt (local times, no offset).",
                     field="startsAt")
    if ends - starts > timedelta(days=MAX_DAYS):
        raise reject("INVALID", f"A campaign runs at most {MAX_DAYS} days.", field="endsAt")
    if not 1 <= len(rules) <= MAX_RULES:
        raise reject("INVALID", f"A campaign has 1 to {MAX_RULES} rules.", field="rules")
    return NewCampaign(name=name, channel_ids=tuple(dict.fromkeys(channel_ids)),
                       channel_kinds=tuple(k for k in KINDS if k in (kinds or ())),
                       starts_local=starts, ends_local=ends, coupon_required=coupon_required,
                       rules=tuple(rules), idempotency_key=idempotency_key)


async def _check_references(loaders: Loaders, campaign: NewCampaign) -> None:
    """Channels and SKUs exist; each covered channel's currency has every amount it needs."""
    errors: list[UserError] = []
    every = await list_channels(loaders.db, scope=loaders.scope)
    known = {c["_id"] for c in every}
    for i, channel_id in enumerate(campaign.channel_ids):
        if channel_id not in known:
            errors.append(UserError(f"channels.{i}", "NOT_FOUND", f"Unknown channel "
                                    f"{channel_id}."))
    skus = sorted({s for rule in campaign.rules for s in rule.skus})
    for sku, product in zip(skus, await loaders.products_by_sku.load_many(skus), strict=True):
        if product is None:
            errors.append(UserError("rules", "NOT_FOUND", f"Unknown SKU {sku}."))
    if errors:
        raise Rejected(*errors)
    channels = [c for c in every if promotions.covers(
        {"channel_ids": campaign.channel_ids, "channel_kinds": campaign.channel_kinds},
        channel_id=c["_id"], kind=c["kind"])]
    for i, rule in enumerate(campaign.rules):
        for name, amounts in (("amounts", rule.amounts), ("minSpend", rule.min_spend)):
            missing = sorted({c["currency"] for c in channels if amounts
                              and c["currency"] not in amounts})
            if missing:
                errors.append(UserError(f"rules.{i}.{name}", "INVALID",
                                        f"No amount in {', '.join(missing)}, the currency of "
                                        "a channel the campaign covers."))
    if errors:
        raise Rejected(*errors)


async def create_campaign(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, campaign: NewCampaign,
) -> Once:
    """Write the campaign exactly once per key; its id (``cmp_...``)."""

    async def work(campaign_id: str, resumed: bool) -> None:
        await check_not_done(db, repo.CAMPAIGNS, campaign_id, resumed)
        await _check_references(loaders, campaign)
        window_from, window_to = promotions.utc_span(campaign.starts_local,
                                                     campaign.ends_local)
        try:
            await writes.insert_campaign(db, {
                "_id": campaign_id, "name": campaign.name,
                "channel_ids": list(campaign.channel_ids),
                "channel_kinds": list(campaign.channel_kinds),
                "starts_local": campaign.starts_local, "ends_local": campaign.ends_local,
                "window_from": window_from, "window_to": window_to,
                "coupon_required": campaign.coupon_required,
                "rules": [r.document() for r in campaign.rules],
                "created_at": now(), "created_by": caller})
        except DuplicateKeyError:
            raise AlreadyDone(campaign_id) from None

    return await run_once(db, caller=caller, mutation="createCampaign",
                          key=campaign.idempotency_key, request=campaign.fingerprint_input(),
                          new_id=new_id("cmp_"), work=work,
                          lease_seconds=settings.idempotency_lease_seconds)


def generated_code(prefix: str) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_GENERATED))
    return f"{prefix}-{body}" if prefix else body


async def create_coupons(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, campaign_id: str,
    codes: list[str] | None, count: int | None, prefix: str | None, max_uses: int,
    idempotency_key: str,
) -> Once:
    """Write a batch of coupons exactly once per key; the batch id (``cpb_...``)."""
    validation.idempotency_key(idempotency_key)
    if (codes is None) == (count is None):
        raise reject("INVALID", "Give codes or count, not both.", field="codes")
    if not 1 <= max_uses <= MAX_USES:
        raise reject("INVALID", f"maxUses is 1 to {MAX_USES}.", field="maxUses")
    explicit: list[str] = []
    if codes is not None:
        if not 1 <= len(codes) <= MAX_CODES:
            raise reject("INVALID", f"1 to {MAX_CODES} codes.", field="codes")
        explicit = [check_code(c, field=f"codes.{i}") for i, c in enumerate(codes)]
        if len(set(explicit)) != len(explicit):
            raise reject("INVALID", "A code is given twice.", field="codes")
    elif count is not None and not 1 <= count <= MAX_CODES:
        raise reject("INVALID", f"count is 1 to {MAX_CODES}.", field="count")
    head = (prefix or "").strip().upper()
    if head and not _PREFIX.match(head):
        raise reject("INVALID", "prefix is 1 to 12 letters and digits.", field="prefix")

    async def work(batch_id: str, resumed: bool) -> None:
        if resumed:  # the codes were never answered: the batch is made afresh
            await writes.delete_batch(db, batch_id)
        found = await loaders.campaigns_by_id.load(campaign_id)
        if found is None:
            raise reject("NOT_FOUND", f"Unknown campaign {campaign_id}.", field="campaign")
        if not found["coupon_required"]:
            raise reject("INVALID", f"Campaign {campaign_id} runs without coupons "
                         "(couponRequired is false).", field="campaign")
        chosen = explicit or [generated_code(head) for _ in range(count or 0)]
        at = now()
        docs = [{"_id": code, "campaign_id": campaign_id, "batch_id": batch_id,
                 "max_uses": max_uses, "uses": 0, "created_at": at} for code in chosen]
        try:
            await writes.insert_coupons(db, docs)
        except BulkWriteError as exc:
            await writes.delete_batch(db, batch_id)
            taken = [chosen[e["index"]] for e in exc.details.get("writeErrors", [])]
            raise reject("CONFLICT", f"Code {', '.join(taken[:5])} is taken.",
                         field="codes") from None

    return await run_once(db, caller=caller, mutation="createCoupons", key=idempotency_key,
                          request=[campaign_id, explicit, count, head, max_uses],
                          new_id=new_id("cpb_"), work=work,
                          lease_seconds=settings.idempotency_lease_seconds)
