"""What every use case of a process is built on, in one bundle: its settings, store, AWS access
and clock (the CLI's, `serve`'s and the tests' are each one `Context`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.aws.session import AwsAccess
from bot.settings.config import Settings
from bot.store import Store
from bot.util.clock import utcnow


@dataclass(frozen=True)
class Context:
    settings: Settings
    store: Store
    access: AwsAccess
    clock: Callable[[], datetime] = utcnow
