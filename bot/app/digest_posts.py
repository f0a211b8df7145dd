"""Digest messages: each channel's digest posted once per slot (even with two processes or
after a restart), posted now on request (`sweep --post`), and edited in place as the store
changes. Which digest a channel gets is the composer's (bot/app/digests.py); what is remembered
about each message is written here; the publisher only renders and talks to Slack.

Edits are taken one at a time, and each round composes from the store as it is when its turn
comes, so a slow edit from an earlier state can never land after a newer one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.app.digests import DigestComposer
from bot.core.digest import DigestView, snapshot
from bot.models import DigestMessage
from bot.store import Store

if TYPE_CHECKING:
    from bot.app.publisher import Publisher

log = logging.getLogger(__name__)

ON_TIME = timedelta(minutes=5)  # a digest posted later than this after its slot is a catch-up

Slot = Callable[[datetime], datetime | None]  # the digest schedule's latest slot at a moment


class DigestDesk:
    def __init__(
        self,
        *,
        store: Store,
        composer: DigestComposer,
        publisher: Publisher | None,
        clock: Callable[[], datetime],
        slot: Slot,
        failed: Callable[[str, str, Exception], None],
        refused: Callable[[], None],
    ) -> None:
        self.store = store
        self.composer = composer
        self.publisher = publisher
        self.clock = clock
        self.slot = slot
        self.failed = failed  # a Slack call raised: log it once, count it
        self.refused = refused  # Slack refused an edit (the publisher logged why): count it
        self._edits = threading.Lock()

    def post_due(self) -> bool:
        """Post each channel's digest for the latest slot unless some process already did
        (idempotent per channel: one channel failing does not hold the others back)."""
        if self.publisher is None:
            return False
        now = self.clock()
        slot = self.slot(now)
        if slot is None:
            return False
        kind = "scheduled" if now - slot <= ON_TIME else "catch-up"
        posted = False
        reading = None
        for channel in self.composer.channels:
            if not self.store.digests.claim(slot, channel.id, kind, now):
                continue
            reading = reading or self.composer.read(now)
            previous = self.store.digests.previous(channel.id, slot)
            view = self.composer.for_channel(reading, channel.id, previous)
            try:
                ts = self.publisher.post_digest(channel.id, view)
            except Exception as exc:
                what = f"posting the {kind} digest for {slot} to {channel.id}"
                self.failed("post_digest", what, exc)
                self.store.digests.failed(slot, channel.id)
                continue
            last = view.digest.last_sweep
            self.store.digests.posted(
                slot,
                channel.id,
                ts=ts,
                now=now,
                sweep_id=last.sweep_id if last else None,
                snapshot=snapshot(view.digest),
            )
            posted = True
            log.info("posted the %s digest for %s to %s", kind, slot, channel.id)
        return posted

    def post_now(self) -> list[DigestMessage]:
        """Post every channel's digest now, outside the schedule (`sweep --post`); each is
        edited in place afterwards like a scheduled one. Raises what the publisher raised."""
        if self.publisher is None:
            return []
        now = self.clock()
        reading = self.composer.read(now)
        posted = []
        for channel in self.composer.channels:
            view = self.composer.for_channel(reading, channel.id)
            ts = self.publisher.post_digest(channel.id, view)
            last = view.digest.last_sweep
            posted.append(
                self.store.digests.remember_manual(
                    channel.id,
                    ts,
                    now=now,
                    sweep_id=last.sweep_id if last else None,
                    snapshot=snapshot(view.digest),
                )
            )
        return posted

    def refresh(self, also: Iterable[DigestMessage | None] = ()) -> bool:
        """Edit the current slot's digests in place (after sweeps, acknowledgements, re-runs),
        and `also` the messages given (the digest a button was clicked in); an earlier day's
        digest stays as it was posted unless it is given. True when every edit landed."""
        if self.publisher is None:
            return False
        with self._edits:  # one round at a time, each composed from the store as it is now
            now = self.clock()
            slot = self.slot(now)
            messages = self.store.digests.for_slot(slot) if slot is not None else []
            seen = {(m.channel, m.ts) for m in messages}
            for extra in also:
                if extra is not None and (extra.channel, extra.ts) not in seen:
                    seen.add((extra.channel, extra.ts))
                    messages.append(extra)
            if not messages:
                return False
            reading = self.composer.read(now)
            ok = True
            for message in messages:
                ok = self._edit(message, self.composer.current(message, reading)) and ok
            return ok

    def _edit(self, message: DigestMessage, view: DigestView) -> bool:
        assert self.publisher is not None
        try:
            edited = self.publisher.update_digest(message, view)
        except Exception as exc:
            self.failed("update_digest", "updating the digest message", exc)
            return False
        if not edited:
            self.refused()
        return edited
