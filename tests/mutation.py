"""Mutating parsed JSON for the fuzz tests: every path into a value, and one field changed."""

from __future__ import annotations

import copy

REMOVE = object()  # a marker: delete the field instead of setting it


def field_paths(node, prefix=()) -> list[tuple]:
    """Every path into a JSON value: keys of dicts and indexes of lists, at every depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    paths = []
    for key, child in items:
        path = (*prefix, key)
        paths.append(path)
        paths.extend(field_paths(child, path))
    return paths


def mutate(obj, path: tuple, value) -> None:
    """Set the field at ``path`` to a copy of ``value`` (strategies such as st.just([]) hand out one
    shared object), or delete it when ``value`` is REMOVE."""
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if value is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
