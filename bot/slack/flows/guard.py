"""Every flow's work runs inside `Guard.run`: any failure becomes one line for the person who
asked, never a trace, and the log lines name the Slack user and the association."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.aws.errors import AWS_ERRORS, describe_error
from bot.models.answers import AwsFailure
from bot.slack import blocks as kit
from bot.slack import faults
from bot.slack.permissions import serving
from bot.slack.replies import Origin, tell
from bot.util.logs import log_context

log = logging.getLogger(__name__)


class Guard:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def tell(self, origin: Origin, text: str) -> None:
        """A notice only the person who asked sees."""
        tell(self.client, origin, kit.notice(text))

    def run(
        self, origin: Origin, what: str, work: Callable[[], None], about: str | None = None
    ) -> None:
        """Run one request's work; any failure becomes one line for the user, never a trace.
        Its log lines name the Slack user and the association (`about`) where known."""
        # serving: the use cases' permissions see the request's team IDs (the workspace rule)
        with (
            log_context(slack_user=origin.user or None, association_id=about),
            serving(origin.requester),
        ):
            self._guarded(origin, what, work)

    def _guarded(self, origin: Origin, what: str, work: Callable[[], None]) -> None:
        try:
            work()
        except (*AWS_ERRORS, AwsFailure) as exc:
            self.tell(origin, f"Could not {what}: {kit.inert(describe_error(_cause(exc)), 400)}")
        except SlackApiError as exc:
            faults.report(exc, what, log)
            if faults.token_refused(exc):
                self.tell(
                    origin,
                    f"Could not {what}: Slack refused the bot's token. An admin must set a valid "
                    "SLACK_BOT_TOKEN.",
                )
            else:
                error = str(exc.response.get("error") or "an error")
                self.tell(origin, f"Could not {what}: Slack answered {kit.inert(error, 100)}.")
        except (SlackClientError, URLError, TimeoutError, ConnectionError) as exc:
            log.warning("could not reach Slack while trying to %s: %s", what, exc)
            self.tell(origin, f"Could not {what}: Slack could not be reached; try again.")
        except Exception:
            log.exception("failed to %s", what)
            self.tell(origin, f"Could not {what}: an internal error (see the bot's log).")


def _cause(exc: BaseException) -> BaseException:
    return exc.cause if isinstance(exc, AwsFailure) else exc
