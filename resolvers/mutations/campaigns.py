"""createCampaign and createCoupons: the brand's promotions (admin keys only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.campaigns import (
    MAX_CODES,
    MAX_DAYS,
    MAX_RULES,
    MAX_SKUS,
    MAX_USES,
    Rule,
    check_campaign,
    check_rule,
    create_campaign,
    create_coupons,
)
from gateway.commerce.idempotency import caller_of
from gateway.context import Info
from gateway.database import campaigns as repo
from gateway.errors import Rejected, UserError
from resolvers.campaigns import Campaign, Coupon, PromotionKind, PromotionTarget, load_campaign
from resolvers.channels import ChannelKind
from resolvers.members import MemberTier
from resolvers.mutations.common import IDEMPOTENCY_KEY, admin_only, user_errors
from resolvers.mutations.common import UserError as UserErrorType
from resolvers.scalars import LocalDateTime, Long


@strawberry.input(description="An amount in one currency, in its minor units.")
class MoneyInput:
    minor_units: Long = strawberry.field(
        description="Minor units (cents, fen), at least 1 and at most "
        "OMNIGW_MAX_ORDER_TOTAL_BASE.")
    currency_code: str = strawberry.field(description="ISO 4217 code, e.g. CNY, USD.")


@strawberry.input(description="One rule of a new campaign (PromotionRule says how rules and "
                  "campaigns combine).")
class PromotionRuleInput:
    kind: PromotionKind = strawberry.field(description="What it takes off.")
    target: PromotionTarget = strawberry.field(
        description="The order, or a SKU set (FIXED_PRICE needs SKUS).")
    skus: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"SKUS: 1 to {MAX_SKUS} products (sku_ ids).")
    percent_off: Decimal | None = strawberry.field(
        default=None, description="PERCENT_OFF: above 0, at most 100, up to two decimals.")
    amounts: list[MoneyInput] | None = strawberry.field(
        default=None, description="AMOUNT_OFF (off the order, or off each unit) and "
        "FIXED_PRICE (the unit price): one per currency, every currency of the channels the "
        "campaign covers.")
    min_spend: list[MoneyInput] | None = strawberry.field(
        default=None, description="Minimum spend per currency (every currency of the "
        "channels covered), if any.")
    tiers: list[MemberTier] | None = strawberry.field(
        default=None, description="Only for members of these tiers.")


@strawberry.input(description="A new campaign.")
class CreateCampaignInput:
    name: str = strawberry.field(description="Display name, 1 to 100 characters.")
    starts_at: LocalDateTime = strawberry.field(
        description="Start (inclusive), a wall-clock time read in each channel's zone.")
    ends_at: LocalDateTime = strawberry.field(
        description=f"End (exclusive), after startsAt, at most {MAX_DAYS} days later.")
    rules: list[PromotionRuleInput] = strawberry.field(description=f"1 to {MAX_RULES} rules.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    channels: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Channels it covers (ch_ ids).")
    channel_kinds: list[ChannelKind] | None = strawberry.field(
        default=None, description="It covers every channel of these kinds (at least one "
        "channel or kind in all).")
    coupon_required: bool = strawberry.field(
        default=False, description="True: only orders that give one of its coupons get it.")


@strawberry.type(description="The result of createCampaign.")
class CreateCampaignPayload:
    campaign: Campaign | None = strawberry.field(description="The campaign; null when refused.")
    user_errors: list[UserErrorType] = strawberry.field(description="Why it was refused.")


@strawberry.input(description="New coupon codes for a campaign: `codes`, or `count` "
                  "generated ones.")
class CreateCouponsInput:
    campaign: strawberry.ID = strawberry.field(
        description="The campaign (cmp_ id); it must require coupons.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    codes: list[str] | None = strawberry.field(
        default=None, description=f"1 to {MAX_CODES} codes of 3 to 32 letters, digits and "
        "dashes (stored upper case); a code taken already refuses the batch (CONFLICT).")
    count: int | None = strawberry.field(
        default=None, description=f"Instead of codes: 1 to {MAX_CODES} random codes (10 "
        "characters, 32^10 possible).")
    prefix: str | None = strawberry.field(
        default=None, description="Generated codes start with it and a dash: 1 to 12 letters "
        "and digits.")
    max_uses: Long = strawberry.field(
        default=Long(1), description=f"Uses per code, 1 (single use) to {MAX_USES}.")


@strawberry.type(description="The result of createCoupons.")
class CreateCouponsPayload:
    coupons: list[Coupon] = strawberry.field(description="The coupons created, by code.")
    user_errors: list[UserErrorType] = strawberry.field(description="Why it was refused.")


def _rules(inputs: list[PromotionRuleInput], ceiling: int) -> list[Rule]:
    rules: list[Rule] = []
    errors: list[UserError] = []
    for i, rule in enumerate(inputs):
        try:
            rules.append(check_rule(
                kind=rule.kind.name, target=rule.target.name,
                skus=None if rule.skus is None else [str(s) for s in rule.skus],
                percent=rule.percent_off,
                amounts=[(m.currency_code, m.minor_units) for m in rule.amounts or []] or None,
                min_spend=[(m.currency_code, m.minor_units) for m in rule.min_spend or []],
                tiers=[t.name for t in rule.tiers or []], field=f"rules.{i}", ceiling=ceiling))
        except Rejected as exc:
            errors += exc.errors
    if errors:
        raise Rejected(*errors)
    return rules


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(
        description="Create a campaign exactly once: placeOrder applies it in the channels it "
        "covers while it runs there (gateway rules: PromotionRule). Unknown channels or SKUs "
        "give NOT_FOUND; a bad window, rule or missing currency INVALID. Needs an admin key "
        "(FORBIDDEN otherwise)."
    )
    async def create_campaign(
        self, info: Info,
        input: Annotated[CreateCampaignInput, strawberry.argument(description="The campaign.")],
    ) -> CreateCampaignPayload:
        ctx = info.context
        admin_only(ctx.scope, "createCampaign")
        try:
            campaign = check_campaign(
                name=input.name,
                channels=None if input.channels is None else [str(c) for c in input.channels],
                kinds=[k.name for k in input.channel_kinds or []], starts=input.starts_at,
                ends=input.ends_at, coupon_required=input.coupon_required,
                rules=_rules(input.rules, ctx.settings.max_order_total_base),
                idempotency_key=input.idempotency_key)
            once = await create_campaign(db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                                         caller=caller_of(ctx.scope, ctx.principal),
                                         campaign=campaign)
        except Rejected as exc:
            return CreateCampaignPayload(campaign=None, user_errors=user_errors(exc))
        return CreateCampaignPayload(campaign=await load_campaign(info, once.result_id),
                                     user_errors=[])

    @strawberry.mutation(
        description="Create coupon codes for a campaign that requires them, exactly once. "
        "Each code is redeemable by placeOrder(input: {coupon}) in any channel the campaign "
        "covers, once per use whatever the concurrency; a cancelled order gives its use back. "
        "Needs an admin key (FORBIDDEN otherwise)."
    )
    async def create_coupons(
        self, info: Info,
        input: Annotated[CreateCouponsInput, strawberry.argument(description="The coupons.")],
    ) -> CreateCouponsPayload:
        ctx = info.context
        admin_only(ctx.scope, "createCoupons")
        try:
            once = await create_coupons(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal),
                campaign_id=ids.check(input.campaign, "cmp_", field="campaign"),
                codes=input.codes, count=input.count, prefix=input.prefix,
                max_uses=input.max_uses, idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return CreateCouponsPayload(coupons=[], user_errors=user_errors(exc))
        docs = await repo.coupons_of_batch(ctx.db, once.result_id)
        return CreateCouponsPayload(coupons=[Coupon.from_doc(d) for d in docs], user_errors=[])
