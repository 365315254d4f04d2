"""Request body parsing that a hostile body cannot turn into a 500."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# The API's documents are shallow (strokes: a list of strokes of points); anything deeper is not ours.
MAX_JSON_DEPTH = 32


class JsonTooDeep(ValueError):
    pass


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is depth 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def json_loads_bounded(text: str) -> Any:
    """`json.loads` in strict mode (no NaN or Infinity) that refuses documents nested over MAX_JSON_DEPTH.

    Raises ValueError (JsonTooDeep for too deep), never RecursionError.
    """
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise JsonTooDeep(f"JSON nested over {MAX_JSON_DEPTH} levels.") from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise JsonTooDeep(f"JSON nested over {MAX_JSON_DEPTH} levels.")
    return value


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 `invalid_json` for documents nested deeper than MAX_JSON_DEPTH."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_loads_bounded(codecs.getreader(encoding)(stream).read())
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
