"""Request bodies as Statuspage sends them: one object inside an envelope named for the
resource (``{"incident": {…}}``), as JSON or form-encoded with bracketed keys
(``incident[name]=…``, ``incident[components][<id>]=partial_outage``,
``incident[component_ids][]=…``).

A body that is not such an envelope is a 400 naming what was expected; the values inside
are checked by the views' serializers.
"""

import re
from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.request import Request

from statusportal import limits

# "incident[components][abc]" -> "incident", then "components", "abc"; "[]" appends.
KEY_HEAD = re.compile(r"^([^\[\]]+)")
KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """The path of a bracketed form key; a key that is not well formed is a 400."""
    head = KEY_HEAD.match(key)
    if head is None:
        raise ParseError(f"Malformed form field name “{key[:100]}”.")
    rest = key[head.end() :]
    parts = [head.group(1)]
    position = 0
    for match in KEY_PART.finditer(rest):
        if match.start() != position:
            break
        parts.append(match.group(1))
        position = match.end()
    if position != len(rest):
        raise ParseError(f"Malformed form field name “{key[:100]}”.")
    if len(parts) > limits.MAX_JSON_DEPTH:
        raise ParseError(f"Form field “{key[:100]}” is nested too deep.")
    return parts


def nest(form: QueryDict) -> dict[str, Any]:
    """A form's fields as the JSON document they spell (Rails' convention, which
    Statuspage follows): ``a[b]=1`` is ``{"a": {"b": "1"}}``, ``a[]=1&a[]=2`` is
    ``{"a": ["1", "2"]}``. A name used both as a value and as an object is a 400."""
    document: dict[str, Any] = {}
    for key, values in form.lists():
        parts = split_key(key)
        appends = parts[-1] == ""
        if appends:
            parts = parts[:-1]
        if "" in parts:
            raise ParseError(f"Malformed form field name “{key[:100]}”: “[]” comes last.")
        node = document
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ParseError(f"Form field “{key[:100]}” conflicts with another field.")
            node = child
        last = parts[-1]
        if appends:
            existing = node.setdefault(last, [])
            if not isinstance(existing, list):
                raise ParseError(f"Form field “{key[:100]}” conflicts with another field.")
            existing.extend(values)
        else:
            if last in node:
                raise ParseError(f"Form field “{key[:100]}” conflicts with another field.")
            node[last] = values[-1]
    return document


def body_of(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object (a form nested as above); empty when none."""
    data = request.data
    if isinstance(data, QueryDict):
        return nest(data)
    if not isinstance(data, dict):
        raise ParseError("Send a JSON object (or a form-encoded body).")
    return data


def unwrap(request: Request, container: str, *, required: bool = True) -> dict[str, Any]:
    """The object inside the ``container`` envelope of the request's body."""
    body = body_of(request)
    inner = body.get(container)
    if inner is None and not required:
        return {}
    if not isinstance(inner, dict):
        raise ParseError(
            f"Send the fields inside a “{container}” object: "
            f'{{"{container}": {{…}}}} in JSON, or {container}[field]=… in a form.'
        )
    return inner
