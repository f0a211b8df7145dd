"""`/ssm3 history` and the History button: an association's recent runs read from AWS, and
`aws_problem`, AWS's error in one line with what to grant, which re-runs say too. Run by
`Flows.show_history`, inside its guard."""

from __future__ import annotations

from contextlib import closing

from bot.app.resolve import Target, resolve
from bot.aws.errors import AWS_ERRORS, denied_hint_for, describe_error
from bot.aws.history import fetch_history
from bot.models import AssociationKey, TrackedAssociation
from bot.slack import blocks as kit
from bot.slack.access import may_read
from bot.slack.replies import Origin, tell
from bot.slack.services import Services
from bot.slack.wording import miss_message


def aws_problem(exc: BaseException, key: AssociationKey, role_name: str) -> str:
    """AWS's error in one inert line, and for a denial what to grant to whom."""
    line = kit.inert(describe_error(exc), 400)
    hint = denied_hint_for(exc, account=key.account_id, role=role_name)
    return f"{line}\n{kit.escape(hint)}." if hint else line


class HistoryCommand:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.client = services.client
        self.zone = services.settings.zone

    def _tell(self, origin: Origin, text: str) -> None:
        tell(self.client, origin, kit.notice(text))

    def show(self, origin: Origin, ref: Target) -> None:
        if not may_read(self.services, origin, f"history of {ref.association_id}"):
            return
        found = resolve(self.store, ref, self.services.clock())
        if isinstance(found, TrackedAssociation):
            key = found.key
        elif found.key is not None and found.why != "elsewhere":
            # An ARN for an association no sweep has seen yet: read it from AWS, but only in an
            # account-region the bot sweeps (never assume a role anywhere a user names).
            key = found.key
            if key.scope not in {s.scope for s in self.store.sweeps.scope_states()}:
                self._tell(
                    origin,
                    f"I don't sweep account {kit.escape(key.account_id)} in "
                    f"{kit.escape(key.region)}, so I won't read its history. Check the ARN, "
                    "or SSM3_ACCOUNTS and SSM3_REGIONS.",
                )
                return
        else:
            self._tell(origin, miss_message(found))
            return
        try:
            stored = found.association if isinstance(found, TrackedAssociation) else None
            with closing(self.services.access.ssm(key.scope)) as ssm:  # its connections too
                history = fetch_history(ssm, key, stored=stored)
        except AWS_ERRORS as exc:
            problem = aws_problem(exc, key, self.services.settings.role_name)
            self._tell(
                origin,
                f"Could not read the history of {kit.inert(key.association_id, 40)} in "
                f"{kit.escape(key.account_id)} {kit.escape(key.region)}: {problem}",
            )
            return
        now = self.services.clock()
        tell(self.client, origin, kit.history_message(history, now=now, zone=self.zone))
