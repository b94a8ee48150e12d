"""The depth bound read from the request's text agrees with the walk of the parsed tree, whatever strings hold."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.hooks import limits

# Strings full of what could fool a scan of the text: brackets, quotes, backslashes, escapes written out.
TRICKY_TEXT = st.lists(st.sampled_from(list('[]{}"\\/ab:,\n\t\u00e9\u2028') + ["\\u005b", '\\"', "\\\\"]),
                       max_size=8).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY_TEXT, inner, max_size=4),
    max_leaves=40,
)
WRITERS = [orjson.dumps, lambda v: json.dumps(v).encode(),  # json escapes non-ASCII as \uXXXX
           lambda v: json.dumps(v, indent=2, ensure_ascii=False).encode(),
           lambda v: orjson.dumps(v).replace(b"/", b"\\/")]  # "/" occurs in strings only; "\/" is its escape


def walked_depth_ok(value, limit: int) -> bool:
    """The reference: walk the parsed tree level by level (what the service did before reading the text)."""
    level, depth = ([value] if isinstance(value, (dict, list)) else []), 0
    while level:
        depth += 1
        if depth > limit:
            return False
        level = [c for item in level for c in (item.values() if isinstance(item, dict) else item)
                 if isinstance(c, (dict, list))]
    return True


def text_depth_ok(data: bytes, limit: int) -> bool:
    try:
        limits.check_json_depth(data, limit)
    except limits.TooDeep:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, limit=st.integers(min_value=0, max_value=6), writer=st.sampled_from(WRITERS))
def test_the_text_check_agrees_with_the_tree_walk(value, limit, writer):
    data = writer(value)
    assert text_depth_ok(data, limit) == walked_depth_ok(orjson.loads(data), limit)


@pytest.mark.parametrize("data, depth", [
    (b'"[[[["', 0),
    (b"[]", 1),
    (b'{"a": [{"b": "]]]]"}], "c": "\\\\"}', 3),
    (b'{"k\\"[": ["\\\\\\"[[", "x\\\\"], "z": [[["\\n\\"]"]]]}', 4),
    (b'[["a","b"],["c",["d"]]]', 3),
])
def test_the_exact_depth_is_found(data, depth):
    assert text_depth_ok(data, depth) and (depth == 0 or not text_depth_ok(data, depth - 1))


def test_the_default_is_the_documented_cap():
    inside = b"[" * limits.MAX_JSON_DEPTH + b"]" * limits.MAX_JSON_DEPTH
    limits.check_json_depth(inside)
    with pytest.raises(limits.TooDeep):
        limits.check_json_depth(b"[" + inside + b"]")
