"""The one walker over a query document, shared by the limits, the cost and federation.

A document's fields hide behind inline fragments and fragment spreads. Every check that looks
at a document walks them by the same rules, here:

- a fragment spread is followed into its fragment; an unknown fragment is skipped (validation
  reports it), and so is a spread of a fragment that is already open (a cycle);
- :meth:`Walker.fields` expands each fragment once per walk, as execution does;
- :meth:`Walker.measure` gives each fragment's measure once per document (memoized), so a
  document whose fragments spread each other many times costs a walk linear in its size.

Users: :mod:`gateway.admission.limits` (depth, aliases, root fields, introspection),
:mod:`gateway.admission.cost` (which also follows the schema's types and the response's data)
and :mod:`resolvers.schema.federation` (the representations of ``_entities``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_directive_values


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragments by name."""
    return {d.name.value: d for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)}


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    """The document's operations, in document order."""
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


class Walker:
    """Walks the selection sets of one document through its fragments."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._open: set[str] = set()
        self._memo: dict[tuple[str, str], Any] = {}

    @classmethod
    def of(cls, document: DocumentNode) -> Walker:
        return cls(fragments_of(document))

    def fragment(self, name: str) -> FragmentDefinitionNode | None:
        """The fragment a spread names, or ``None`` when it is unknown or already open (a
        cycle): the walk then passes the spread over."""
        return None if name in self._open else self.fragments.get(name)

    @contextmanager
    def inside(self, name: str) -> Iterator[FragmentDefinitionNode | None]:
        """The fragment a spread names, open for the duration of the block; ``None`` when it
        is unknown or already open (a cycle), and the walk passes the spread over."""
        fragment = self.fragment(name)
        if fragment is None:
            yield None
            return
        self._open.add(name)
        try:
            yield fragment
        finally:
            self._open.discard(name)

    def fields(self, selection_set: SelectionSetNode | None, name: str | None = None, *,
               variables: VariableValues | None = None) -> Iterator[FieldNode]:
        """The fields selected in ``selection_set`` itself (not below them), through inline
        fragments and spreads, each fragment once; only those called ``name`` when given. With
        the request's ``variables``, what ``@skip`` or ``@include`` leave out is left out, as
        execution does."""
        yield from self._fields(selection_set, name, set(), variables)

    def _fields(self, selection_set: SelectionSetNode | None, name: str | None,
                seen: set[str], variables: VariableValues | None) -> Iterator[FieldNode]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if variables is not None and not _included(selection, variables):
                continue
            if isinstance(selection, FieldNode):
                if name is None or selection.name.value == name:
                    yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, name, seen, variables)
            elif isinstance(selection, FragmentSpreadNode):
                spread = selection.name.value
                fragment = self.fragments.get(spread)
                if fragment is not None and spread not in seen:
                    seen.add(spread)
                    yield from self._fields(fragment.selection_set, name, seen, variables)

    def measure(
        self,
        measure: str,
        selection_set: SelectionSetNode | None,
        of_field: Callable[[FieldNode], int],
        combine: Callable[[Iterable[int]], int],
    ) -> int:
        """Combine ``of_field`` over the fields of ``selection_set`` (``combine`` of nothing
        for an empty one), through inline fragments and spreads. A fragment's value is computed
        once per ``measure`` (its name keys the memo) and a cyclic spread counts as nothing.
        ``of_field`` recurses into a field's own selection by calling this again."""
        if selection_set is None:
            return combine(())
        values: list[int] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                values.append(of_field(selection))
            elif isinstance(selection, InlineFragmentNode):
                values.append(self.measure(measure, selection.selection_set, of_field, combine))
            elif isinstance(selection, FragmentSpreadNode):
                values.append(self._spread(measure, selection.name.value, of_field, combine))
        return combine(values)

    def _spread(self, measure: str, name: str, of_field: Callable[[FieldNode], int],
                combine: Callable[[Iterable[int]], int]) -> int:
        key = (measure, name)
        if key in self._memo:
            value: int = self._memo[key]
            return value
        with self.inside(name) as fragment:
            if fragment is None:
                return combine(())
            value = self.measure(measure, fragment.selection_set, of_field, combine)
        self._memo[key] = value
        return value


def _included(node: SelectionNode, variables: VariableValues) -> bool:
    """False when ``@skip(if: true)`` or ``@include(if: false)`` leaves ``node`` out."""
    if not node.directives:
        return True
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include and include.get("if") is False)
