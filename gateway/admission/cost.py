"""Query cost, computed from the document before execution (and again from the result).

The rules, in Shopify's spirit:

- a field in :data:`FIELD_COSTS` costs what the table says (plus, for a field in
  :data:`PER_ITEM`, so much per item of a list argument), plus its selection: analytics,
  mutations, imports by their rows, subscriptions;
- a scalar or enum field costs 0 (``__typename`` too);
- a field that returns an object costs 1, plus 1 when it is database-backed (an ``async``
  resolver: a loader or a repository call; or a relation marked :data:`LOADS`, which answers
  at once when its value is loaded), plus the cost of its selection; a plain list
  (order lines, offers, identities...) counts as one object, its lists being short and fixed;
- a connection (a type named ``...Connection``) costs 1 (database) plus ``first`` (or
  ``last``; 20 when neither is given) times the cost of one node (1 + its selection);
  ``edges``, ``cursor`` and ``pageInfo`` are free;
- ``_entities`` costs 1 plus the number of representations times the cost of one entity;
  ``_service`` and introspection (``__schema``, ``__type``) cost 1 each;
- fragments on several types are all counted (an upper bound); they are followed by the one
  document walker (:mod:`gateway.admission.walker`).

``actualQueryCost`` follows the same rules over the response: a connection counts the nodes it
returned, a null object only its database access, and a fragment that did not apply nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from gateway.admission.walker import Walker

MAX_FIRST = 100
DEFAULT_PAGE_SIZE = 20  # a connection's page when neither `first` nor `last` is given

# The cost table (Type.field -> points) for fields whose work a generic rule cannot see. A test
# walks the schema: every mutation and subscription is here, and docs/security.md prints it.
FIELD_COSTS: Final[Mapping[str, int]] = {
    # analytics: one aggregate over a time window each
    "Location.footfall": 10,
    "Channel.sales": 10,
    "Channel.topProducts": 10,
    "Channel.conversion": 15,
    "Query.omnichannelReach": 25,
    "Query.repeatPurchaseCohorts": 25,
    # counts: one count command each, sent only when selected
    "MemberConnection.totalCount": 1,
    "ProductConnection.totalCount": 1,
    "SegmentConnection.totalCount": 1,
    # segments: one aggregate over members, their orders and visits (every question of a
    # request in one)
    "Segment.count": 25,
    "Segment.members": 25,
    "Campaign.results": 20,  # two aggregates (per day and member; first orders)
    # mutations: checks, an idempotency claim and several single-document writes each
    "Mutation.placeOrder": 10,
    "Mutation.cancelOrder": 10,
    "Mutation.recordPayment": 10,
    "Mutation.adjustStock": 5,
    "Mutation.createTransfer": 10,
    "Mutation.shipTransfer": 10,
    "Mutation.receiveTransfer": 10,
    "Mutation.cancelTransfer": 10,
    "Mutation.recordVisit": 5,
    "Mutation.enrolMember": 5,
    "Mutation.linkIdentity": 5,
    "Mutation.unlinkIdentity": 5,
    "Mutation.mergeMembers": 20,
    "Mutation.unmergeMembers": 20,
    "Mutation.importOrders": 10,
    "Mutation.authorizePayment": 10,
    "Mutation.capturePayment": 10,
    "Mutation.voidPayment": 10,
    "Mutation.refundPayment": 15,
    "Mutation.shipOrder": 10,
    "Mutation.preparePickup": 5,
    "Mutation.collectOrder": 10,
    "Mutation.expirePickup": 15,
    "Mutation.completeOrder": 5,
    "Mutation.returnOrder": 20,
    "Mutation.recordConsent": 5,
    "Mutation.saveSegment": 5,
    "Mutation.deleteSegment": 5,
    "Mutation.eraseMember": 50,
    "Mutation.exportMember": 20,
    "Mutation.redeemPoints": 10,
    "Mutation.createCampaign": 10,
    "Mutation.createCoupons": 10,
    "Mutation.setFxRate": 5,
    # subscriptions: charged once, when they start; they then hold a place in the live poller
    "Subscription.memberActivity": 10,
    "Subscription.channelOrders": 10,
}


def cost_note(key: str) -> str:
    """``Cost N.``: how a field's description states its cost, read from :data:`FIELD_COSTS`."""
    return f"Cost {FIELD_COSTS[key]}."


# Fields sized by a list argument: (argument, points per item), added to FIELD_COSTS.
PER_ITEM: Final[Mapping[str, tuple[str, int]]] = {
    "Mutation.importOrders": ("orders", 1),
}


@dataclass
class Analysis:
    """What the walk found: the cost, and every ``first`` or ``last`` outside 1..100 with its
    path, the argument's name and its value."""

    cost: int = 0
    bad_first: list[tuple[list[str], str, Any]] = field(default_factory=list)


def _is_connection(type_: GraphQLNamedType) -> bool:
    return type_.name.endswith("Connection") and isinstance(type_, GraphQLObjectType) and (
        "edges" in type_.fields
    )


# The metadata key (strawberry.field(metadata=...)) of a field whose resolver loads through the
# request's loaders yet may answer at once when the value is loaded (resolvers/relations.py).
LOADS: Final = "omnigw.loads"


def _database_backed(field_def: GraphQLField) -> bool:
    """An ``async`` resolver (a loader or a repository call), or a relation marked LOADS."""
    definition = field_def.extensions.get("strawberry-definition")
    if getattr(definition, "metadata", {}).get(LOADS):
        return True
    resolver = getattr(definition, "base_resolver", None)
    return bool(resolver is not None and resolver.is_async)


class CostWalker:
    """Walks one operation over the schema, with the request's coerced variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.walk = Walker(fragments)
        self.variables = variables
        self.analysis = Analysis()
        self._memo: dict[str, int] = {}
        # per (field node, parent type): its definition and named type, None for a leaf
        self._fields: dict[tuple[int, str],
                           tuple[GraphQLField, GraphQLNamedType, int | None] | None] = {}
        self._leaf_selections: dict[int, bool] = {}

    def requested(self, operation: OperationDefinitionNode) -> Analysis:
        root = self.schema.get_root_type(operation.operation)
        if root is not None:
            self.analysis.cost = self._selection(operation.selection_set, root, None, [])
        return self.analysis

    def selection_cost(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        """The requested cost of a selection on an object of type ``parent``."""
        return self._selection(selection_set, parent, None, [])

    def actual(self, operation: OperationDefinitionNode, data: Any) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None or not isinstance(data, dict):
            return 0
        return self._selection(operation.selection_set, root, data, [])

    def _selection(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType,
        data: dict[str, Any] | None, path: list[str], visited: set[str] | None = None,
    ) -> int:
        """Cost of a selection set. As in execution, a fragment is expanded once per object
        (``visited``), and a fragment's requested cost is computed once (``_memo``), so the walk
        stays linear in the document whatever the fragments' fan-out."""
        if selection_set is None:
            return 0
        visited = set() if visited is None else visited
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self._field(sel, parent, data, path)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                type_ = self.schema.get_type(cond.name.value) if cond else parent
                total += self._selection(sel.selection_set, type_ or parent, data, path, visited)
            elif isinstance(sel, FragmentSpreadNode):
                total += self._spread(sel.name.value, parent, data, path, visited)
        return total

    def _spread(
        self, name: str, parent: GraphQLNamedType, data: dict[str, Any] | None, path: list[str],
        visited: set[str],
    ) -> int:
        if name in visited or self.walk.fragment(name) is None:
            return 0
        visited.add(name)
        if data is None and name in self._memo:
            return self._memo[name]
        with self.walk.inside(name) as fragment:
            assert fragment is not None
            type_ = self.schema.get_type(fragment.type_condition.name.value) or parent
            cost = self._selection(fragment.selection_set, type_, data, path, visited)
        if data is None:
            self._memo[name] = cost
        return cost

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, data: dict[str, Any] | None,
        path: list[str],
    ) -> int:
        name = node.name.value
        if name in ("__schema", "__type", "_service"):
            return 1
        static_key = (id(node), parent.name)
        if static_key not in self._fields:
            self._fields[static_key] = self._lookup(name, parent)
        found = self._fields[static_key]
        if found is None:
            return 0  # __typename, or a field the schema does not have
        field_def, type_, table = found
        key = node.alias.value if node.alias else name
        if data is not None and key not in data:
            return 0  # a fragment that did not apply to this object
        own = None if table is None else table + self._per_item(parent, field_def, node)
        if is_leaf_type(type_):
            return own or 0
        value = None if data is None else data[key]
        here = [*path, key]
        if name == "_entities":
            count = len(self._arguments(field_def, node).get("representations") or [])
            return 1 + self._each(node, type_, data, value, here, count)
        if _is_connection(type_):
            arguments = self._arguments(field_def, node)  # {} when they do not coerce
            sizes = {n: v for n in ("first", "last") if isinstance(v := arguments.get(n), int)}
            bad = [(here, n, v) for n, v in sizes.items() if not 1 <= v <= MAX_FIRST]
            self.analysis.bad_first += bad
            count = 0 if bad else max(
                sizes.values(), default=DEFAULT_PAGE_SIZE if arguments else MAX_FIRST)
            return (own or 1) + self._connection(node, type_, value if data is not None else None,
                                                 here, count, data is not None)
        if own is None:
            own = 1 + _database_backed(field_def)
            if data is not None and value is None:
                return own - 1
        elif data is not None and value is None:
            return own
        return own + self._each(node, type_, data, value, here, None)

    def _per_item(self, parent: GraphQLNamedType, field_def: GraphQLField,
                  node: FieldNode) -> int:
        sized = PER_ITEM.get(f"{parent.name}.{node.name.value}")
        if sized is None:
            return 0
        items = self._arguments(field_def, node).get(sized[0])
        if not isinstance(items, list):  # not coercible: count the literal list's items
            literal = next(
                (a.value for a in node.arguments or () if a.name.value == sized[0]), None)
            items = literal.values if isinstance(literal, ListValueNode) else [None]
        return sized[1] * len(items)

    @staticmethod
    def _lookup(
        name: str, parent: GraphQLNamedType
    ) -> tuple[GraphQLField, GraphQLNamedType, int | None] | None:
        fields = getattr(parent, "fields", None)
        if name == "__typename" or not fields or name not in fields:
            return None
        field_def: GraphQLField = fields[name]
        type_ = get_named_type(field_def.type)
        table = FIELD_COSTS.get(f"{parent.name}.{name}")
        if table is None and is_leaf_type(type_):
            return None
        return field_def, type_, table

    def _each(
        self, node: FieldNode, type_: GraphQLNamedType, data: dict[str, Any] | None, value: Any,
        path: list[str], count: int | None,
    ) -> int:
        """Cost of the selection under an object or list field (``count`` objects if given)."""
        if data is None:
            one = self._selection(node.selection_set, type_, None, path)
            return one if count is None else count * (1 + one)
        items = value if isinstance(value, list) else [value]
        if self._leaf_only(node.selection_set):
            # Scalars cost nothing: a long list of plain objects needs no walk item by item.
            costs = [0 for item in items if isinstance(item, dict)]
        else:
            costs = [self._selection(node.selection_set, type_, item, path)
                     for item in items if isinstance(item, dict)]
        if count is None:
            return max(costs, default=0)
        return sum(1 + c for c in costs)

    def _leaf_only(self, selection_set: SelectionSetNode | None) -> bool:
        """True when the selection (through its fragments) picks scalar fields only."""
        if selection_set is None:
            return True
        if id(selection_set) not in self._leaf_selections:
            self._leaf_selections[id(selection_set)] = self.walk.measure(
                "objects", selection_set,
                lambda field: 0 if field.selection_set is None else 1,
                lambda found: max(found, default=0)) == 0
        return self._leaf_selections[id(selection_set)]

    def _connection(
        self, node: FieldNode, type_: GraphQLNamedType, value: Any, path: list[str],
        first: int, actual: bool,
    ) -> int:
        """``first`` (or the nodes returned) times the cost of one node."""
        total = 0
        for edges in self.walk.fields(node.selection_set, "edges"):
            for node_field in self.walk.fields(edges.selection_set, "node"):
                node_type = self._node_type(type_)
                if node_type is None:
                    continue
                if not actual:
                    one = self._selection(node_field.selection_set, node_type, None,
                                          [*path, "edges", "node"])
                    total += first * (1 + one)
                    continue
                edge_key = edges.alias.value if edges.alias else "edges"
                node_key = node_field.alias.value if node_field.alias else "node"
                for edge in (value or {}).get(edge_key) or []:
                    item = (edge or {}).get(node_key)
                    if isinstance(item, dict):
                        total += 1 + self._selection(node_field.selection_set, node_type, item,
                                                     [*path, "edges", "node"])
        return total

    def _node_type(self, connection: GraphQLNamedType) -> GraphQLNamedType | None:
        edges = getattr(connection, "fields", {}).get("edges")
        edge = get_named_type(edges.type) if edges else None
        node = getattr(edge, "fields", {}).get("node") if edge else None
        return get_named_type(node.type) if node else None

    def _arguments(self, field_def: GraphQLField, node: FieldNode) -> dict[str, Any]:
        try:
            return get_argument_values(field_def, node, self.variables)
        except Exception:  # a bad argument fails at execution, with its code
            return {}
