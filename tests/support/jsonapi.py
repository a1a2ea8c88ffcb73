"""A structural check of JSON:API 1.1 documents: top-level members, resource objects, linkage, links.

It asserts what the specification requires of a document (section "Document Structure"), including full
linkage: every included resource is reachable from the primary data through relationship linkage.
"""

from __future__ import annotations

from typing import Any

TOP_LEVEL = {"data", "errors", "meta", "jsonapi", "links", "included"}
RESOURCE = {"type", "id", "attributes", "relationships", "links", "meta"}
RESERVED = {"type", "id", "relationships", "links"}

Key = tuple[str, str]


def validate_document(document: Any) -> None:
    assert isinstance(document, dict), document
    assert set(document) <= TOP_LEVEL, set(document) - TOP_LEVEL
    assert {"data", "errors", "meta"} & set(document), "a document needs data, errors or meta"
    assert not ({"data", "errors"} <= set(document)), "data and errors cannot coexist"
    assert "included" not in document or "data" in document, "included needs data"
    _links(document.get("links", {}))
    data = document.get("data")
    primary = data if isinstance(data, list) else [data] if data is not None else []
    for resource in primary:
        _resource(resource)
    included = document.get("included", [])
    assert isinstance(included, list)
    for resource in included:
        _resource(resource)
    keys = [_key(resource) for resource in included]
    assert len(keys) == len(set(keys)), "included has duplicates"
    assert not set(keys) & {_key(resource) for resource in primary}, "included repeats primary data"
    _full_linkage(primary, included)


def _key(resource: dict[str, Any]) -> Key:
    return resource["type"], resource["id"]


def _resource(resource: Any) -> None:
    assert isinstance(resource, dict), resource
    assert set(resource) <= RESOURCE, set(resource) - RESOURCE
    assert isinstance(resource["type"], str)
    assert isinstance(resource["id"], str)
    attributes = resource.get("attributes", {})
    relationships = resource.get("relationships", {})
    assert isinstance(attributes, dict)
    assert isinstance(relationships, dict)
    assert not set(attributes) & RESERVED, "reserved names in attributes"
    assert not set(attributes) & set(relationships), "a field is both attribute and relationship"
    for relationship in relationships.values():
        assert isinstance(relationship, dict)
        assert set(relationship) <= {"data", "links", "meta"}
        assert {"data", "links", "meta"} & set(relationship), "an empty relationship object"
        if "data" in relationship:
            linkage = relationship["data"]
            for identifier in linkage if isinstance(linkage, list) else [linkage] if linkage else []:
                assert set(identifier) <= {"type", "id", "meta"}
                assert isinstance(identifier["type"], str)
                assert isinstance(identifier["id"], str)
        _links(relationship.get("links", {}))
    _links(resource.get("links", {}))


def _links(links: Any) -> None:
    assert isinstance(links, dict)
    for value in links.values():
        assert value is None or isinstance(value, str) or (isinstance(value, dict) and "href" in value), value


def _linked(resource: dict[str, Any]) -> set[Key]:
    keys: set[Key] = set()
    for relationship in resource.get("relationships", {}).values():
        linkage = relationship.get("data")
        for identifier in linkage if isinstance(linkage, list) else [linkage] if linkage else []:
            keys.add((identifier["type"], identifier["id"]))
    return keys


def _full_linkage(primary: list[dict[str, Any]], included: list[dict[str, Any]]) -> None:
    by_key = {_key(resource): resource for resource in included}
    reached: set[Key] = set()
    frontier = set().union(*(_linked(resource) for resource in primary)) if primary else set()
    while frontier:
        key = frontier.pop()
        if key in reached or key not in by_key:
            continue
        reached.add(key)
        frontier |= _linked(by_key[key]) - reached
    assert set(by_key) <= reached, f"included but not linked: {set(by_key) - reached}"
