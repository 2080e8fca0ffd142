"""The ``Long`` scalar, and where the schema may still use GraphQL's 32-bit ``Int``.

Money in minor units, points and counts that grow with the data are ``Long`` (64-bit, a string
of digits in JSON). ``Int`` is allowed only for the bounded values listed in ``BOUNDED`` (or a
page size), each with a maximum far below 2^31 that its description states. The walk covers
every field, argument and input field of the schema, so a field added later is covered
without editing this file: an ``Int`` that is not listed fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from bson.int64 import Int64
from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

from gateway.admission.cost import MAX_FIRST
from gateway.commerce.campaigns import MAX_CODES
from gateway.commerce.imports import MAX_ROWS
from gateway.database.segment_rules import MAX_DAYS
from gateway.settings import Settings
from resolvers.cohorts import MAX_OFFSET
from resolvers.schema import build_schema

INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Bound:
    """An Int position's largest value, and the words of its description that state it."""

    maximum: int
    stated_as: str


def setting(name: str) -> Bound:
    """Bounded by a setting: the largest value the setting itself accepts (its ``le``)."""
    ceilings = [meta.le for meta in Settings.model_fields[name].metadata if hasattr(meta, "le")]
    assert ceilings, f"setting {name} has no upper limit"
    return Bound(ceilings[0], f"OMNIGW_{name.upper()}")


LINE_QUANTITY = setting("max_line_quantity")
STOCK_LEVEL = setting("max_stock_level")
STOCK_CHANGE = setting("max_stock_adjustment")
ROWS = Bound(MAX_ROWS, f"0 to {MAX_ROWS}")
# Every Int of the schema that is not a page size, with why it is bounded.
BOUNDED: dict[str, Bound] = {
    "ReachByKindCount.kinds": Bound(4, "1 to 4"),  # there are four channel kinds
    "ImportOrderResult.index": Bound(MAX_ROWS - 1, f"0 to {MAX_ROWS - 1}"),  # rows per call
    "ImportOrdersPayload.created": ROWS,
    "ImportOrdersPayload.duplicates": ROWS,
    "ImportOrdersPayload.rejected": ROWS,
    "OrderLine.quantity": LINE_QUANTITY,  # refused above the ceiling when written
    "OrderLineInput.quantity": LINE_QUANTITY,
    # units of one order line: shipped, returned or refunded, never more than it holds
    "OrderLine.shipped": LINE_QUANTITY,
    "OrderLine.returned": LINE_QUANTITY,
    "UnitsLine.quantity": LINE_QUANTITY,
    "ReturnLine.quantity": LINE_QUANTITY,
    "ShipLineInput.quantity": LINE_QUANTITY,
    "ReturnLineInput.quantity": LINE_QUANTITY,
    "RefundLineInput.quantity": LINE_QUANTITY,
    "ImportLineInput.quantity": LINE_QUANTITY,
    "StockLevel.onHand": STOCK_LEVEL,  # adjustStock is the only way up, and it is capped
    "StockLevel.reserved": Bound(STOCK_LEVEL.maximum, "onHand"),  # never above on-hand
    "StockLevel.available": Bound(STOCK_LEVEL.maximum, "onHand"),  # on-hand minus reserved
    "StockMovement.before": STOCK_LEVEL,
    "StockMovement.after": STOCK_LEVEL,
    "StockMovement.delta": STOCK_CHANGE,
    "TransferLine.quantity": STOCK_CHANGE,  # refused above the ceiling when created
    "TransferLineInput.quantity": STOCK_CHANGE,
    "Mutation.adjustStock(delta)": STOCK_CHANGE,
    "Mutation.adjustStock(expectedOnHand)": STOCK_LEVEL,
    # segment rules: days of a window, and RFM scores
    **{f"{owner}.{name}": Bound(MAX_DAYS, f"1 to {MAX_DAYS}")
       for owner, name in (("TimeWindow", "withinDays"), ("TimeWindowInput", "withinDays"),
                           ("LastActivityRule", "withinDays"),
                           ("LastActivityRule", "notWithinDays"),
                           ("LastActivityInput", "withinDays"),
                           ("LastActivityInput", "notWithinDays"))},
    **{f"{owner}.{name}": Bound(5, "1 to 5") for owner in ("ScoreRange", "ScoreRangeInput")
       for name in ("min", "max")},
    "CohortPeriodActivity.offset": Bound(MAX_OFFSET, f"0 to {MAX_OFFSET}"),
    "CreateCouponsInput.count": Bound(MAX_CODES, f"1 to {MAX_CODES}"),  # codes per call
}
# Page sizes: any argument with one of these names (`first` of a connection or a ranking).
PAGE_SIZE_ARGUMENTS = {"first": Bound(MAX_FIRST, f"1 to {MAX_FIRST}"),
                       "last": Bound(MAX_FIRST, f"1 to {MAX_FIRST}")}


def positions(schema: GraphQLSchema, type_name: str) -> Iterator[tuple[str, str | None]]:
    """(schema coordinate, description) of every field, argument and input field whose
    named type is ``type_name``, directives' arguments included."""
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or not isinstance(
                type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            continue
        for field_name, field in type_.fields.items():
            if get_named_type(field.type).name == type_name:
                yield f"{name}.{field_name}", field.description
            for arg_name, arg in getattr(field, "args", {}).items():
                if get_named_type(arg.type).name == type_name:
                    yield f"{name}.{field_name}({arg_name})", arg.description
    for directive in schema.directives:
        for arg_name, arg in directive.args.items():
            if get_named_type(arg.type).name == type_name:
                yield f"@{directive.name}({arg_name})", arg.description


def bound_of(coordinate: str) -> Bound | None:
    if coordinate.endswith(")"):
        argument = coordinate[coordinate.index("(") + 1:-1]
        if argument in PAGE_SIZE_ARGUMENTS:
            return PAGE_SIZE_ARGUMENTS[argument]
    return BOUNDED.get(coordinate)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


@pytest.fixture(scope="module")
def long(schema: GraphQLSchema) -> GraphQLScalarType:
    scalar = schema.type_map["Long"]
    assert isinstance(scalar, GraphQLScalarType)
    return scalar


def test_no_int_carries_money_points_or_a_count_that_grows(schema: GraphQLSchema) -> None:
    unbounded = [c for c, _ in positions(schema, "Int") if bound_of(c) is None]
    assert unbounded == [], (
        "Int is 32-bit: use Long for money, points and counts that grow; if the value is "
        "bounded, add it to BOUNDED with its maximum")


def test_every_bounded_int_states_its_bound_and_fits_in_32_bits(schema: GraphQLSchema) -> None:
    found = dict(positions(schema, "Int"))
    assert sorted(set(BOUNDED) - set(found)) == []  # no stale entry
    for coordinate, description in found.items():
        bound = bound_of(coordinate)
        assert bound is not None
        assert bound.maximum <= INT32_MAX, coordinate
        assert bound.stated_as in (description or ""), coordinate
    assert len(found) >= len(BOUNDED) + 5  # and the page sizes: products, members, ...


def test_money_points_and_counts_are_long(schema: GraphQLSchema) -> None:
    longs = {c for c, _ in positions(schema, "Long")}
    assert {"Money.minorUnits", "Member.points", "PointsEntry.delta", "PointsEntry.balance",
            "Merge.movedPoints", "ChannelSummary.orderCount", "ChannelSummary.visitCount",
            "SalesBucket.orders", "SalesBucket.units", "ProductSales.units",
            "OmnichannelReach.activeMembers", "FootfallBucket.visits",
            "RecordPaymentInput.amount", "ImportLineInput.unitPrice"} <= longs


def test_nothing_is_a_float(schema: GraphQLSchema) -> None:
    assert list(positions(schema, "Float")) == []


def test_long_is_specified_and_described(long: GraphQLScalarType) -> None:
    assert long.specified_by_url == "https://scalars.graphql.org/jakobmerrild/long.html"
    assert long.description is not None and "64-bit" in long.description
    sdl = build_schema().as_str()
    assert ('scalar Long @specifiedBy(url: "https://scalars.graphql.org/jakobmerrild/long.html")'
            in sdl)


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (-1, "-1"), (2**31, "2147483648"), (2**53 + 1, "9007199254740993"),
    (2**63 - 1, "9223372036854775807"), (-(2**63), "-9223372036854775808"),
    (Int64(5_000_000_000), "5000000000"),  # what the wire server's $sum hands back
])
def test_long_serializes_to_base_10_digits(long: GraphQLScalarType, value: int,
                                           text: str) -> None:
    assert long.serialize(value) == text


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, "12", 1.5, None])
def test_long_refuses_to_serialize_what_is_not_a_64_bit_integer(
    long: GraphQLScalarType, value: object
) -> None:
    with pytest.raises(ValueError, match="Long cannot represent"):
        long.serialize(value)


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("-42", -42), ("007", 7), ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -(2**63)),
])
def test_long_parses_strings_of_digits(long: GraphQLScalarType, text: str, value: int) -> None:
    assert long.parse_value(text) == value


@pytest.mark.parametrize("value", [
    12, 1.0, True, None, "", "+1", " 1", "1 ", "1.0", "1e6", "0x1F", "١٢",
    "9223372036854775808", "-9223372036854775809", "1" * 40,
])
def test_long_refuses_numbers_and_other_strings(long: GraphQLScalarType, value: object) -> None:
    with pytest.raises(GraphQLError, match="Long is"):
        long.parse_value(value)
