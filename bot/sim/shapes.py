"""Checks the simulator's responses against botocore's own service model.

Every response the simulator sends passes through `check_output`, so a field that the real
API does not have, a wrong type, an unknown enum value or a missing required member is
caught the moment the simulator drifts from AWS, not when a real account behaves differently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


def known_operations(service: str) -> frozenset[str]:
    return frozenset(service_model(service).operation_names)


def error_codes(service: str) -> frozenset[str]:
    """Error codes the model declares for any operation (plus the generic ones every API has)."""
    codes = {"ThrottlingException", "Throttling", "AccessDenied", "AccessDeniedException"}
    codes |= {"UnrecognizedClientException", "ExpiredTokenException", "ValidationException"}
    codes |= {"InvalidClientTokenId", "ExpiredToken", "InternalFailure", "ServiceUnavailable"}
    model = service_model(service)
    for name in model.operation_names:
        for shape in model.operation_model(name).error_shapes:
            codes.add(str(shape.metadata.get("error", {}).get("code") or shape.name))
    return frozenset(codes)


@cache
def _pattern(regex: str) -> re.Pattern[str] | None:
    try:
        return re.compile(regex)
    except re.error:
        return None  # AWS uses \p{L} and friends that Python's re does not know


def check_output(service: str, operation: str, payload: Mapping[str, Any]) -> list[str]:
    """Return every way `payload` departs from the operation's output shape (empty: conforms)."""
    shape = operation_model(service, operation).output_shape
    problems: list[str] = []
    if shape is None:
        if payload:
            problems.append(f"{operation}: has no output shape but got {sorted(payload)}")
        return problems
    _check(shape, payload, operation, problems)
    return problems


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if shape.metadata.get("document"):
        _check_document(value, path, problems)
    elif isinstance(shape, StructureShape):
        _check_structure(shape, value, path, problems)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list | tuple):
            problems.append(f"{path}: expected list, got {type(value).__name__}")
            return
        _check_length(len(value), shape.metadata, path, problems)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    elif isinstance(shape, MapShape):
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected map, got {type(value).__name__}")
            return
        for key, item in value.items():
            _check(shape.key, key, f"{path}<key>", problems)
            _check(shape.value, item, f"{path}[{key}]", problems)
    elif shape.type_name == "string":
        _check_string(shape, value, path, problems)
    else:
        _check_scalar(shape, value, path, problems)


def _check_document(value: Any, path: str, problems: list[str]) -> None:
    """A document (untyped JSON, e.g. an OCSF finding): JSON values only, no nulls."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(f"{path}: document key {key!r} is not a string")
            _check_document(item, f"{path}.{key}", problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_document(item, f"{path}[{index}]", problems)
    elif value is None or not isinstance(value, str | int | float | bool):
        problems.append(f"{path}: {type(value).__name__} is not a JSON document value")


def _check_structure(shape: StructureShape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, Mapping):
        problems.append(f"{path}: expected structure, got {type(value).__name__}")
        return
    for name in value:
        if name not in shape.members:
            problems.append(f"{path}.{name}: not a member of {shape.name}")
    for name in shape.required_members:
        if name not in value:
            problems.append(f"{path}.{name}: required member missing")
    for name, member in shape.members.items():
        if name in value and value[name] is not None:
            _check(member, value[name], f"{path}.{name}", problems)
        elif name in value:
            problems.append(f"{path}.{name}: null is never sent by AWS; omit the member")


def _check_string(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    if not isinstance(value, str):
        problems.append(f"{path}: expected string, got {type(value).__name__}")
        return
    enum = meta.get("enum")
    if enum and value not in enum:
        problems.append(f"{path}: {value!r} is not one of {enum}")
    _check_length(len(value), meta, path, problems)
    pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
    if pattern is not None and not pattern.search(value):
        problems.append(f"{path}: {value!r} does not match {meta['pattern']}")


def _check_scalar(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind, meta = shape.type_name, shape.metadata
    if kind in {"integer", "long"}:
        _check_integer(meta, value, path, problems)
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected boolean, got {type(value).__name__}")
    elif kind == "timestamp":
        if not isinstance(value, datetime) or value.tzinfo is None:
            problems.append(f"{path}: expected an aware datetime, got {value!r}")
    elif kind in {"double", "float"}:
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{path}: expected number, got {type(value).__name__}")
    elif kind == "blob":
        if not isinstance(value, bytes | str):
            problems.append(f"{path}: expected blob, got {type(value).__name__}")
    else:  # pragma: no cover - every shape kind botocore knows is handled above
        problems.append(f"{path}: unhandled shape kind {kind}")


def _check_integer(meta: Mapping[str, Any], value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append(f"{path}: expected integer, got {type(value).__name__}")
        return
    if "min" in meta and value < meta["min"]:
        problems.append(f"{path}: {value} below minimum {meta['min']}")
    if "max" in meta and value > meta["max"]:
        problems.append(f"{path}: {value} above maximum {meta['max']}")


def _check_length(length: int, meta: Mapping[str, Any], path: str, problems: list[str]) -> None:
    if "min" in meta and length < meta["min"]:
        problems.append(f"{path}: length {length} below minimum {meta['min']}")
    if "max" in meta and length > meta["max"]:
        problems.append(f"{path}: length {length} above maximum {meta['max']}")
