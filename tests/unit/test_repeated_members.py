"""A JSON member sent twice in one object is found wherever it is, and nothing else is taken for one: the quick look
that spares a well-formed body Python's slower parse must never pass over a repeat."""

from __future__ import annotations

import pytest

from app.lib.errors import LanternError
from app.lib.schema import refuse_repeated_members


@pytest.mark.parametrize(
    ("raw", "paths"),
    [
        (b'{"a": 1, "a": 2}', ["a"]),
        (b'{"a" : 1 ,\n "a":2, "a": 3}', ["a"]),  # three times: named once
        (b'{"a": {"x": 1, "x": 2}, "a": 3}', ["a.x", "a"]),  # the dropped value's repeat too
        (b'[{"k": "v"}, {"k": "v", "k": "w"}]', ["[1].k"]),
        (b'{"a": "x:y", "a": "z"}', ["a"]),  # the `:` dropped with it is in a text
        (b'{"t": "\\u003a", "a": 1, "a": 2}', ["a"]),  # an escaped `:`, one more once read: the repeat still found
        (b'{"a\\u0062": 1, "ab": 2}', ["ab"]),  # one name in two spellings
    ],
)
def test_a_repeated_member_is_named_where_it_is(raw: bytes, paths: list[str]) -> None:
    with pytest.raises(LanternError) as refused:
        refuse_repeated_members(raw)
    assert [detail.field for detail in refused.value.details] == paths


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}',  # one name in several objects
        b'{"a": "b\\":\\"c", "d": ":"}',  # `":` inside texts
        b'{"a": "\\u003a\\u003A"}',
        b'{"a": 1, "a": 2',  # not JSON: its own refusal says so
        b"[" * 100_000,
    ],
)
def test_anything_else_is_no_repeat(raw: bytes) -> None:
    refuse_repeated_members(raw)
