"""The diagnosis use case's port over AWS (bot/app/diagnoses.py): the evidence for one
association read through its account's member role (bot/aws/diagnosis.py does the reading)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from bot.aws.diagnosis import read_evidence
from bot.aws.documents import DocumentCache
from bot.aws.errors import AWS_ERRORS, describe_error, iam_hint, is_denied
from bot.aws.session import AwsAccess
from bot.core.diagnosis import Evidence
from bot.models import Association, AssociationKey, Orphan
from bot.models.answers import AwsFailure


class AwsEvidence:
    """The diagnosis use case's port over AWS (bot/app/diagnoses.py): one SSM client a
    diagnosis, through the member role; AWS's refusal or silence as AwsFailure (a denial names
    what to grant), a missing association as AssociationGone."""

    def __init__(
        self,
        access: AwsAccess,
        *,
        clock: Callable[[], datetime],
        documents: DocumentCache | None = None,
    ) -> None:
        self.access = access
        self.documents = documents or DocumentCache(clock=clock)

    def read(
        self, key: AssociationKey, *, stored: Association | None, orphans: Iterable[Orphan]
    ) -> tuple[Evidence, dict[str, int]]:
        try:
            ssm = self.access.ssm(key.scope)
            try:
                return read_evidence(
                    ssm, key, stored=stored, orphans=orphans, documents=self.documents
                )
            finally:
                ssm.close()
        except AWS_ERRORS as exc:
            hint = f" ({iam_hint('ssm:DescribeAssociation')})" if is_denied(exc) else ""
            raise AwsFailure(
                describe_error(exc), exc, reason=f"{describe_error(exc)}{hint}"
            ) from exc
