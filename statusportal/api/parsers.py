"""The API's JSON parser, with bounds: a request body of at most ``MAX_JSON_BODY_BYTES``
(413 beyond) nested at most ``MAX_JSON_DEPTH`` deep (400 beyond).

DRF's own parser reads however much is sent, and lets the ``RecursionError`` of a body
nested a few thousand levels deep escape as a 500 (before authentication or permissions
are even looked at, since parsing comes first).
"""

import codecs
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json as drf_json

from statusportal import limits


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = (
        f"The request body is too large (at most {limits.MAX_JSON_BODY_BYTES:,} bytes)."
    )
    default_code = "request_too_large"


def depth_of(document: Any, limit: int) -> int:
    """How deep ``document`` nests (a scalar is 0), counted up to ``limit + 1`` at most;
    iterative, so that no document can exhaust the stack."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """``JSONParser`` with a size and a nesting bound; every failure is a 4xx."""

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limits.MAX_JSON_BODY_BYTES:
            raise RequestBodyTooLarge()
        raw = stream.read(limits.MAX_JSON_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > limits.MAX_JSON_BODY_BYTES:
            raise RequestBodyTooLarge()
        encoding = parser_context.get("encoding", "utf-8")
        try:
            text = codecs.decode(raw, encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - not {encoding} text: {exc}") from None
        parse_constant = drf_json.strict_constant if api_settings.STRICT_JSON else None
        try:
            document = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if depth_of(document, limits.MAX_JSON_DEPTH) > limits.MAX_JSON_DEPTH:
            raise _too_deep()
        return document


def _too_deep() -> ParseError:
    return ParseError(f"JSON parse error - nested deeper than {limits.MAX_JSON_DEPTH} levels.")
