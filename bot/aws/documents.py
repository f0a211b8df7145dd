"""A document's declared parameters (GetDocument's Content: `type`, `default`, `allowedValues`,
`allowedPattern`), for the association's own document version, cached.

DescribeDocument lists names, types and defaults but not the allowed values, so the content
is read. A numbered version never changes and is kept; `$DEFAULT` and `$LATEST` can move, so
they are kept for `symbolic_ttl_s` only. The cache is shared by every diagnosis in a process.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import yaml

from bot.core.diagnosis import DeclaredParameter, DocumentFacts
from bot.util.clock import utcnow

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

CacheKey = tuple[str, str, str, str]  # account, region, document, version as asked


class DocumentCache:
    """Declared parameters by (account, region, document, version); thread-safe, bounded."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        symbolic_ttl_s: float = 300,
        size: int = 256,
    ) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=symbolic_ttl_s)
        self._size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[CacheKey, tuple[DocumentFacts, datetime | None]] = OrderedDict()

    def get(self, key: CacheKey) -> DocumentFacts | None:
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            facts, expires = found
            if expires is not None and self._clock() >= expires:
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return facts

    def put(self, key: CacheKey, facts: DocumentFacts) -> None:
        symbolic = not key[3].isdigit()
        with self._lock:
            self._kept[key] = (facts, self._clock() + self._ttl if symbolic else None)
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


def read_document(ssm: SSMClient, name: str, version: str) -> DocumentFacts:
    """GetDocument of that version, asked for as JSON (AWS converts YAML; a TEXT answer is read
    as YAML, which JSON is a subset of)."""
    answer = ssm.get_document(
        Name=name, DocumentVersion=version or "$DEFAULT", DocumentFormat="JSON"
    )
    content = parse_content(str(answer.get("Content") or ""))
    declared = content.get("parameters") if isinstance(content, Mapping) else None
    parameters = {
        str(pname): _declared(str(pname), spec)
        for pname, spec in (declared or {}).items()
        if isinstance(spec, Mapping)
    }
    return DocumentFacts(name, str(answer.get("DocumentVersion") or version), parameters)


def parse_content(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return {}


def _declared(name: str, spec: Mapping[str, Any]) -> DeclaredParameter:
    allowed = spec.get("allowedValues")
    default = spec.get("default")
    return DeclaredParameter(
        name=name,
        type=str(spec.get("type") or "String"),
        allowed_values=tuple(str(v) for v in allowed) if isinstance(allowed, list) else None,
        allowed_pattern=str(spec["allowedPattern"]) if spec.get("allowedPattern") else None,
        default=None if default is None else str(default),
        has_default="default" in spec,
    )
