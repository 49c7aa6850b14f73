"""Group a batch of records the way an OTLP request nests them: resources, scopes, records.

Groups keep the order in which their first record appears, and records keep their order
within a scope. Resources are matched by identity first (a container's records share one
``Resource`` object) and by equality only when the identity is new; scopes are matched by
equality (:class:`~fapilog_otel.record.Scope` compares by value).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource

from fapilog_otel.record import LogRecord, Scope

__all__ = ["ResourceGroup", "ScopeGroup", "group_records"]


class ScopeGroup:
    """The records of one scope under one resource, in batch order."""

    __slots__ = ("records", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.records: list[LogRecord] = []


class ResourceGroup:
    """The scopes of one resource, in order of first appearance."""

    __slots__ = ("_by_scope", "resource", "scopes")

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.scopes: list[ScopeGroup] = []
        self._by_scope: dict[Scope, ScopeGroup] = {}

    def scope_group(self, scope: Scope) -> ScopeGroup:
        """Return the group of ``scope``, adding it if the scope is new."""
        group = self._by_scope.get(scope)
        if group is None:
            group = self._by_scope[scope] = ScopeGroup(scope)
            self.scopes.append(group)
        return group


def _resource_group(
    groups: list[ResourceGroup], by_id: dict[int, ResourceGroup], resource: Resource
) -> ResourceGroup:
    group = by_id.get(id(resource))
    if group is None:
        group = next((g for g in groups if g.resource == resource), None)
        if group is None:
            group = ResourceGroup(resource)
            groups.append(group)
        # The batch's records hold every resource alive, so the id is not reused meanwhile.
        by_id[id(resource)] = group
    return group


def group_records(records: Sequence[LogRecord]) -> tuple[list[ResourceGroup], int]:
    """Group ``records`` by resource, then scope, keeping the order of first appearance.

    Args:
        records: One batch of records.

    Returns:
        The resource groups, and the number of records left out because their resource or
        scope could not be compared (a processor replaced it with something unhashable or
        whose comparison raises).
    """
    groups: list[ResourceGroup] = []
    by_id: dict[int, ResourceGroup] = {}
    invalid = 0
    # A fresh sentinel: no record's resource or scope is it, so the first record looks up.
    last_resource: object = object()
    last_scope: object = last_resource
    current: list[LogRecord] = []
    for record in records:
        try:
            resource = record.resource
            scope = record.scope
            if resource is not last_resource or scope is not last_scope:
                group = _resource_group(groups, by_id, resource).scope_group(scope)
                current = group.records
                last_resource, last_scope = resource, scope
        except Exception:
            invalid += 1
            continue
        current.append(record)
    return groups, invalid
