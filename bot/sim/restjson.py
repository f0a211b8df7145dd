"""Request routing for rest-json services (Security Hub): which operation an HTTP method and
path name, and its parameters from the path, the query string and the JSON body, all read
from botocore's own model so the routes cannot drift from what boto3 sends."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.model import OperationModel, Shape

from bot.sim.shapes import service_model

REST_JSON_SERVICES = frozenset({"securityhub"})

_LABEL = re.compile(r"\{(\w+)(\+?)\}")


@cache
def _routes(service: str) -> tuple[tuple[str, re.Pattern[str], OperationModel], ...]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        path = operation.http["requestUri"].partition("?")[0]
        pattern, end = "", 0
        for label in _LABEL.finditer(path):
            pattern += re.escape(path[end : label.start()])
            pattern += f"(?P<{label.group(1)}>{'.+' if label.group(2) else '[^/]+'})"
            end = label.end()
        pattern += re.escape(path[end:])
        routes.append((operation.http["method"], re.compile(pattern), operation))
    # Literal paths first, so /standards/get never matches a /standards/{Arn+} route.
    routes.sort(key=lambda route: ("(?P<" in route[1].pattern, -len(route[1].pattern)))
    return tuple(routes)


def route(service: str, method: str, target: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """(operation name, parameters) for one request; ("", {}) when no operation matches."""
    split = urlsplit(target)
    query = parse_qs(split.query, keep_blank_values=True)
    for http_method, pattern, operation in _routes(service):
        matched = pattern.fullmatch(split.path) if http_method == method else None
        if matched is None:
            continue
        params: dict[str, Any] = {}
        if body:
            try:
                loaded = json.loads(body)
            except ValueError:
                loaded = {}
            params.update(loaded if isinstance(loaded, dict) else {})
        shape = operation.input_shape
        for name, member in (shape.members if shape is not None else {}).items():
            where, wire = member.serialization.get("location"), member.serialization.get("name")
            if where == "uri" and wire in matched.groupdict():
                params[name] = unquote(matched.group(wire))
            elif where == "querystring" and wire in query:
                params[name] = _typed(member, query[wire])
        return operation.name, params
    return "", {}


def _typed(shape: Shape, values: list[str]) -> Any:
    if shape.type_name == "list":
        return values
    if shape.type_name in {"integer", "long"} and values[0].lstrip("-").isdigit():
        return int(values[0])
    if shape.type_name == "boolean":
        return values[0] == "true"
    return values[0]
