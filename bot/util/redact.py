"""Keep secrets and terminal control out of every log line.

At DEBUG, libraries log what they send and receive: botocore logs each signed request's headers
(X-Amz-Security-Token) and each response body (AssumeRole's SecretAccessKey and SessionToken);
slack_sdk masks the Authorization header it adds but logs request parameters, response_urls
and response bodies; Bolt logs incoming payloads. A `Redactor` on the log handlers rewrites
each record before it is written: the configured secrets (the Slack tokens and signing secret,
registered by the CLI once it has read them) and anything shaped like a credential become
`[redacted]`, and control characters (an ESC sequence in an AWS error message, say) become '?'.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from bot.util.strings import terminal_safe

MASK = "[redacted]"
# Shorter values are not secrets worth matching (and would mask ordinary words).
MIN_SECRET = 8

_COLON = r"(?::|%3a|%253a)"
_SLASH = r"(?:/|\\{1,3}/|%2f|%252f)"
_SHAPES = (
    # Slack tokens: bot, user, app-level, configuration, refresh.
    re.compile(r"\bx(?:ox[abposre]|app|oxe\.xox[bp])-[A-Za-z0-9-]{6,}"),
    # AWS credentials in XML (the STS responses botocore logs at DEBUG) ...
    re.compile(r"(<(SecretAccessKey|SessionToken)>)[^<]*(</\2>)"),
    # ... in JSON, dict reprs, headers and credential files.
    re.compile(
        r"(?i)((?:secret_?access_?key|session_?token|security[_-]token|aws_secret_access_key)"
        r"['\"]?\s*[:=]\s*b?['\"]?)[A-Za-z0-9/+=%]{16,}"
    ),
    # A slash command's or button's response_url can post as the app for 30 minutes: as is,
    # URL-encoded (a form body Bolt logs: https%3A%2F%2F…, twice: %253A%252F) or JSON-escaped
    # (https:\/\/…, and escaped again inside a JSON string).
    re.compile(
        rf"https?{_COLON}{_SLASH}{_SLASH}hooks\.slack(?:-gov)?\.com{_SLASH}"
        rf"(?:commands|actions|app|services){_SLASH}(?:[^\s'\"<>\\]|\\+/)+",
        re.IGNORECASE,
    ),
)


class Redactor(logging.Filter):
    """A logging filter that rewrites records; thread-safe, secrets can be added at any time."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str | None]) -> None:
        with self._lock:
            known = set(self._secrets)
            known.update(s for s in secrets if s and len(s) >= MIN_SECRET)
            # Longest first, so a secret that contains another is masked whole.
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for shape in _SHAPES:
            text = shape.sub(_masked, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = terminal_safe(self.redact(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _masked(match: re.Match[str]) -> str:
    """Keep a pattern's label (its first group, e.g. `<SessionToken>`) and its closing tag."""
    groups = match.groups()
    if not groups:
        return MASK
    closing = groups[-1] if len(groups) >= 3 else ""
    return f"{groups[0]}{MASK}{closing}"


REDACTOR = Redactor()


def install(handlers: Iterable[logging.Handler] | None = None) -> Redactor:
    """Put the redactor on `handlers` (default: the root logger's) and return it."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
    return REDACTOR
