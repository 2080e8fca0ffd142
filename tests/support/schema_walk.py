"""Documents generated from an introspected schema, for rules that must hold on every field.

:class:`Walk` turns a schema (built from an introspection answer) into GraphQL documents that
select every field reachable from a root type, to a depth, with arguments filled from a
:class:`Pool` of values read in earlier answers: ids (by the prefix an argument's description
names), cursors of the same list, time windows, every enum value, input objects with their
required fields and then each optional one. Nothing here names a field of our schema, so a
field added later is walked without editing the tests that use it.

Depth counts objects: the root field's object is level 1, and a field returning an object
goes one level deeper, except the ``edges`` and ``node`` (and ``pageInfo``) of a connection,
which belong to the connection's level. Leaves are selected at every level.

Aliases: a variant occurrence of a field (another binding of its arguments) is aliased
``<field>__<n>``; inside the type conditions of an interface or union, a field that two
possible types declare with different types is aliased ``<field>__<Type>`` (they could not
share a response key). :func:`field_name` maps a key back.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_abstract_type,
    is_enum_type,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)

Binding = dict[str, Any]
PREFIX = re.compile(r"(?<![A-Za-z0-9_])([a-z]{2,4}_)(?![A-Za-z0-9])")
ID_VALUE = re.compile(r"^([a-z]{2,4}_)[A-Za-z0-9_@.\-]+$")  # not `ch_x:external id`
TIME_VALUE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
VARIANTS_PER_ARGUMENT = 4
# what a value read from an answer must be to fill a built-in scalar argument
_FITS: dict[str, Callable[[Any], bool]] = {
    "Int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


@dataclass(frozen=True)
class EnumLiteral:
    """An enum value in a document (printed bare)."""

    name: str


def literal(value: Any) -> str:
    """A Python value as a GraphQL literal."""
    if value is None:
        return "null"
    if isinstance(value, EnumLiteral):
        return value.name
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {value!r}")


def jsonable(value: Any) -> Any:
    """A Python value as a JSON variable value."""
    if isinstance(value, EnumLiteral):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def _defaulted(arg: GraphQLArgument) -> bool:
    """A non-null argument with a default: its variable may be left out (then nullable)."""
    return is_non_null_type(arg.type) and arg.default_value is not Undefined


def field_name(key: str) -> str:
    """The field a response key answers (undoing the aliases this module makes)."""
    return key if key.startswith("__") else key.split("__", 1)[0]


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


@dataclass
class Pool:
    """Values read in answers, by kind, that arguments are filled from."""

    ids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    cursors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    times: list[datetime] = field(default_factory=list)
    page_size: int = 3
    fresh: Iterator[int] = field(default_factory=itertools.count)
    id_fields: frozenset[str] | None = None  # the fields whose values are ids (None: any)

    def read(self, data: Any, parent: str = "Query") -> None:
        """Remember the ids, cursors, times, leaf values and objects of an answer."""
        if isinstance(data, list):
            for item in data:
                self.read(item, parent)
            return
        if not isinstance(data, dict):
            return
        typename = data.get("__typename", parent)
        leaves = {}
        for key, value in data.items():
            name = field_name(key)
            if isinstance(value, dict) and isinstance(value.get("edges"), list):
                cursors = [e.get("cursor") for e in value["edges"] if isinstance(e, dict)]
                end = (value.get("pageInfo") or {}).get("endCursor")
                _add(self.cursors[f"{typename}.{name}"], *cursors, end)
            if isinstance(value, dict | list):
                self.read(value, typename)
                continue
            leaves[name] = value
            if isinstance(value, str):
                match = ID_VALUE.match(value)
                if match and (self.id_fields is None or name in self.id_fields):
                    _add(self.ids[match.group(1)], value)
                if TIME_VALUE.match(value):
                    self.times.append(datetime.fromisoformat(value.replace("Z", "+00:00")))
            if isinstance(value, str | int) and not isinstance(value, bool) and name != "cursor":
                _add(self.by_name[name], value)
        if "__typename" in data and leaves:
            self.objects[typename].append(leaves)

    def windows(self) -> list[Window]:
        """Windows of whole days: the week around the median time read, and the week up to
        the newest (a week is short enough for every bucket size)."""
        if not self.times:
            now = datetime.now(UTC)
            return [Window(now - timedelta(days=7), now)]
        times = sorted(self.times)

        def day(t: datetime) -> datetime:
            return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

        middle, last = day(times[len(times) // 2]), day(times[-1]) + timedelta(days=1)
        return [Window(middle - timedelta(days=3), middle + timedelta(days=4)),
                Window(last - timedelta(days=7), last)]

    def string(self) -> str:
        return f"walk-{next(self.fresh)}"


def _add(values: list[Any], *new: Any) -> None:
    for value in new:
        if value is not None and value not in values:
            values.append(value)


@dataclass
class Walk:
    """Generates documents for one schema from one pool (see the module docstring)."""

    schema: GraphQLSchema
    pool: Pool
    depth: int = 4
    # which ids of a prefix to try, in order (by default those read, in order)
    choose_ids: Callable[[str, list[str]], list[str]] = lambda prefix, ids: ids[:4]
    # a value never to send as a String argument (e.g. someone's personal data)
    withheld: Callable[[Any], bool] = lambda value: False
    _prefix_of_name: dict[str, set[str]] = field(default_factory=dict)
    _fields_of_scalar: dict[str, list[str]] = field(default_factory=dict)
    _bindings_of: dict[str, list[Binding] | None] = field(default_factory=dict)
    _selections: dict[tuple[str, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        named: dict[str, set[str]] = defaultdict(set)
        for argument_name, description in self._id_arguments():
            prefixes = set(PREFIX.findall(description or ""))
            if len(prefixes) == 1:
                named[argument_name] |= prefixes
        self._prefix_of_name = {k: v for k, v in named.items() if len(v) == 1}
        of_scalar: dict[str, set[str]] = defaultdict(set)
        for type_ in self.schema.type_map.values():
            if is_object_type(type_) and not type_.name.startswith("__"):
                for fname, f in type_.fields.items():
                    of_scalar[get_named_type(f.type).name].add(fname)
        self._fields_of_scalar = {k: sorted(v) for k, v in of_scalar.items()}
        self.pool.id_fields = frozenset(self._fields_of_scalar.get("ID", []))

    def refresh(self) -> None:
        """Forget the arguments and selections made so far (the pool changed)."""
        self._bindings_of.clear()
        self._selections.clear()

    # -- the schema ------------------------------------------------------------------------

    def _id_arguments(self) -> Iterator[tuple[str, str | None]]:
        for type_ in self.schema.type_map.values():
            if type_.name.startswith("__"):
                continue
            if is_object_type(type_):
                for f in type_.fields.values():
                    for aname, arg in f.args.items():
                        if get_named_type(arg.type).name == "ID":
                            yield aname, arg.description
            if is_input_object_type(type_):
                for fname, f in type_.fields.items():
                    if get_named_type(f.type).name == "ID":
                        yield fname, f.description

    def reachable(self, root: GraphQLObjectType) -> dict[str, int]:
        """Every ``Type.field`` of every object type reachable from ``root``, with the least
        level of the object that holds it (``root`` is level 0, a root field's object 1)."""
        least: dict[str, int] = {}
        seen: dict[str, int] = {}
        queue: list[tuple[GraphQLNamedType, int]] = [(root, 0)]
        while queue:
            type_, level = queue.pop()
            for object_type in self.possible(type_):
                if seen.get(object_type.name, 1 << 30) <= level:
                    continue
                seen[object_type.name] = level
                for fname, f in object_type.fields.items():
                    key = f"{object_type.name}.{fname}"
                    least[key] = min(least.get(key, 1 << 30), level)
                    named = get_named_type(f.type)
                    if not is_leaf_type(named):
                        queue.append((named, level if self.wrapper(object_type, fname)
                                      else level + 1))
        return least

    def possible(self, type_: GraphQLNamedType) -> list[GraphQLObjectType]:
        if is_object_type(type_):
            return [type_]
        if is_abstract_type(type_):
            return list(self.schema.get_possible_types(type_))
        return []

    @staticmethod
    def connection(type_: GraphQLObjectType) -> bool:
        return {"edges", "pageInfo"} <= set(type_.fields)

    @staticmethod
    def edge(type_: GraphQLObjectType) -> bool:
        return {"cursor", "node"} <= set(type_.fields)

    def wrapper(self, parent: GraphQLObjectType, fname: str) -> bool:
        """Whether ``parent.fname`` is a connection's edges, pageInfo, or an edge's node."""
        return (self.connection(parent) and fname in ("edges", "pageInfo")) or (
            self.edge(parent) and fname == "node")

    # -- arguments -------------------------------------------------------------------------

    def candidates(self, owner: str, name: str, description: str | None,
                   type_: GraphQLInputType, *, nested: bool = False) -> list[Any]:
        """Values to try for one argument or input field (``nested``), the first being the
        primary. An argument takes every id chosen, an input field the first few."""
        inner = type_.of_type if is_non_null_type(type_) else type_
        if get_named_type(inner).name == "_Any":
            return self.representations()  # each a list of representations
        if is_list_type(inner):
            of = self.candidates(owner, name, description, inner.of_type, nested=nested)
            return [[value] for value in of]
        named = get_named_type(inner)
        if is_enum_type(named):
            return [EnumLiteral(v) for v in named.values]
        if is_input_object_type(named):
            return self.input_candidates(named)
        scalar = named.name
        if scalar == "ID":
            found = self.id_candidates(name, description)
            return found[:VARIANTS_PER_ARGUMENT] if nested else found
        if scalar == "String":
            if name in ("after", "before"):
                # cursors of the same list: a root field's (a nested list's cursors are bound
                # to their parent, and would fail on every other parent)
                query = self.schema.query_type
                if query is None or not owner.startswith(f"{query.name}."):
                    return []
                return list(self.pool.cursors.get(owner, []))[:2]
            found = [v for v in self.pool.by_name.get(name, [])
                     if isinstance(v, str) and not self.withheld(v)]
            return found[:VARIANTS_PER_ARGUMENT] or [self.pool.string()]
        if name in ("first", "last"):
            return [self.pool.page_size]
        if scalar == "Boolean":
            return [True, False]
        if scalar == "DateTime":
            windows = self.pool.windows()
            if name == "since":
                return [w.since for w in windows]
            if name == "until":
                return [w.until for w in windows]
            return [windows[0].until - timedelta(hours=1)]
        return self.scalar_candidates(name, scalar)

    def scalar_candidates(self, name: str, scalar: str) -> list[Any]:
        """Values read from fields of the same scalar type: those whose name is the
        argument's or ends it (``onHand`` for ``expectedOnHand``: a compare-and-set wants the
        value it compares with), else any; else a fresh string."""
        fields = self._fields_of_scalar.get(scalar, [])
        fits = _FITS.get(scalar, lambda value: True)  # two types may share a field name
        matching = [v for key in fields if name.lower().endswith(key.lower())
                    for v in self.pool.by_name.get(key, []) if fits(v)]
        of_type = [v for key in fields for v in self.pool.by_name.get(key, []) if fits(v)]
        return (matching or of_type)[:2] or [self.pool.string()]

    def id_candidates(self, name: str, description: str | None) -> list[str]:
        """Ids of the prefix the description names (or that arguments of this name take
        elsewhere); of every prefix when none is named. None read yet: no candidate."""
        prefixes = set(PREFIX.findall(description or ""))
        if len(prefixes) != 1:
            prefixes = self._prefix_of_name.get(name, prefixes)
        if not prefixes:
            prefixes = set(self.pool.ids)
        # an argument of any kind (node's id) takes the first two of each kind
        chosen = [self.choose_ids(p, self.pool.ids[p])[:2 if len(prefixes) > 1 else None]
                  for p in sorted(prefixes) if self.pool.ids.get(p)]
        return [i for group in itertools.zip_longest(*chosen) for i in group if i is not None]

    def representations(self) -> list[Any]:
        """Entity representations, as one list: objects of each entity type read earlier,
        with their leaves (the key fields among them), chosen by their first id."""
        union = self.schema.get_type("_Entity")
        if union is None:
            return []
        reps = []
        for entity in self.possible(union):
            by_id: dict[str, dict[str, Any]] = {}
            for obj in self.pool.objects.get(entity.name, []):
                ids = [v for v in obj.values() if isinstance(v, str) and ID_VALUE.match(v)]
                if ids:
                    by_id.setdefault(ids[0], obj)
            for prefix in sorted({key.split("_", 1)[0] + "_" for key in by_id}):
                ids = [k for k in by_id if k.startswith(prefix)]
                for key in self.choose_ids(prefix, ids)[:VARIANTS_PER_ARGUMENT]:
                    leaves = by_id[key].items()
                    reps.append({"__typename": entity.name, **{
                        k: v for k, v in leaves if v is not None and k in entity.fields}})
        return [reps] if reps else []

    def input_candidates(self, type_: GraphQLInputObjectType) -> list[Any]:
        fields: dict[str, GraphQLInputField] = type_.fields
        options = {name: self.candidates(type_.name, name, f.description, f.type, nested=True)
                   for name, f in fields.items()}
        return self._bindings(fields, options) or []

    def bindings(self, owner: str, f: GraphQLField) -> list[Binding] | None:
        """The primary binding of a field's arguments, then each variant (None: unfillable)."""
        if owner not in self._bindings_of:
            options = {name: self.candidates(owner, name, a.description, a.type)
                       for name, a in f.args.items()}
            self._bindings_of[owner] = self._bindings(f.args, options)
        return self._bindings_of[owner]

    def _bindings(self, args: dict[str, GraphQLArgument] | dict[str, GraphQLInputField],
                  options: dict[str, list[Any]]) -> list[Binding] | None:
        required = [n for n, a in args.items()
                    if is_non_null_type(a.type) and a.default_value is Undefined]
        if any(not options[n] for n in required):
            return None
        primary = _paired({n: options[n][0] for n in required}, options, 0, required)
        if options.get("first"):  # a page is always sized: the walk reads small pages
            primary["first"] = options["first"][0]
        result = [primary]
        for name, values in options.items():
            for index, value in enumerate(values):
                variant = _paired({**primary, name: value}, options, index, [name])
                if name == "last":  # Relay: a page is sized from one end only
                    variant.pop("first", None)
                if variant not in result:
                    result.append(variant)
        return result

    # -- selections ------------------------------------------------------------------------

    def document(self, root: GraphQLObjectType, fname: str, binding: Binding, *,
                 shallow: bool = False, variants: bool = False, operation: str = "query"
                 ) -> tuple[str, dict[str, Any]]:
        """One operation selecting ``root.fname``, and its variables: every field to the
        depth (``shallow``: the root object's leaves, and its connections' nodes' leaves).
        With ``variants``, each nested field with arguments is also selected once (at its
        first place in the document) with each other binding of its arguments, aliased.

        The root field's arguments are variables (declared for every argument, sent for
        those ``binding`` names), so that every binding of a root field shares one document
        text, parsed and validated once."""
        f = root.fields[fname]
        named = get_named_type(f.type)
        declared = ", ".join(
            f"$a_{name}: {arg.type.of_type if _defaulted(arg) else arg.type}"
            for name, arg in f.args.items())
        head = fname + ("(" + ", ".join(f"{name}: $a_{name}" for name in f.args) + ")"
                        if f.args else "")
        signature = f"{operation}({declared})" if declared else operation
        variables = {f"a_{name}": jsonable(value) for name, value in binding.items()}
        if is_leaf_type(named):
            return f"{signature} {{ {head} }}", variables
        level = self.depth if shallow else 1
        varied: set[str] | None = set() if variants else None
        return f"{signature} {{ {head} {self.selection(named, level, varied)} }}", variables

    def selection(self, type_: GraphQLNamedType, level: int,
                  varied: set[str] | None = None) -> str:
        """The selection set of ``type_`` at ``level``. ``varied``: the fields already
        selected with their variant bindings in this document (None: no variants)."""
        if varied is not None:
            return self._selection(type_, level, varied)
        key = (type_.name, level)
        if key not in self._selections:
            self._selections[key] = self._selection(type_, level, None)
        return self._selections[key]

    def _selection(self, type_: GraphQLNamedType, level: int, varied: set[str] | None) -> str:
        objects = self.possible(type_)
        if is_object_type(type_):
            return "{ " + self._fields(objects[0], level, varied, set()) + " }"
        # fragments on different types may share a field name with different types: those
        # are aliased per type (fields of one type in several fragments would not merge)
        types: dict[str, set[str]] = defaultdict(set)
        for object_type in objects:
            for fname, f in object_type.fields.items():
                types[fname].add(str(f.type))
        clashing = {fname for fname, found in types.items() if len(found) > 1}
        parts = ["__typename"]
        for object_type in objects:
            inner = self._fields(object_type, level, varied, clashing)
            parts.append(f"... on {object_type.name} {{ {inner} }}")
        return "{ " + " ".join(parts) + " }"

    def _fields(self, type_: GraphQLObjectType, level: int, varied: set[str] | None,
                clashing: set[str]) -> str:
        parts = ["__typename"]
        for fname, f in type_.fields.items():
            owner = f"{type_.name}.{fname}"
            options = self.bindings(owner, f)
            if options is None:
                continue
            named = get_named_type(f.type)
            sub = ""
            if not is_leaf_type(named):
                deeper = level if self.wrapper(type_, fname) else level + 1
                if deeper > self.depth:
                    continue
                sub = " " + self.selection(named, deeper, varied)
            tag = f"__{type_.name}" if fname in clashing else ""
            alias = f"{fname}{tag}: " if tag else ""
            parts.append(f"{alias}{fname}{_arguments(options[0])}{sub}")
            if varied is not None and len(options) > 1 and owner not in varied:
                varied.add(owner)
                plain = "" if is_leaf_type(named) else " " + self.selection(named, deeper)
                for n, binding in enumerate(options[1:], 1):
                    parts.append(f"{fname}__{n}{tag.replace('__', '_')}: "
                                 f"{fname}{_arguments(binding)}{plain}")
        return " ".join(parts)


def _paired(binding: Binding, options: dict[str, list[Any]], index: int,
            varied: list[str]) -> Binding:
    """``since`` and ``until`` are a window: varying one takes the other of the same window."""
    if {"since", "until"} & set(varied) and {"since", "until"} <= set(options):
        for name in ("since", "until"):
            if len(options[name]) > index:
                binding[name] = options[name][index]
    return binding


def _arguments(binding: Binding) -> str:
    if not binding:
        return ""
    return "(" + ", ".join(f"{k}: {literal(v)}" for k, v in binding.items()) + ")"
