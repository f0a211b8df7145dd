"""What the bot knows about AWS's errors, in one place for every surface and for doctor: which
codes mean access denied, which mean the call never got an answer, one readable line for any
error, and which policy in iam/ grants an action a denial names."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

# Everything a boto3 call raises for AWS's refusal or silence: the tuple every `except` names.
AWS_ERRORS = (ClientError, BotoCoreError)
AwsError = ClientError | BotoCoreError

# AWS's codes for "this identity may not do that" (SSM, STS, EC2, Organizations, Security Hub...).
DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
)
# Answers that say nothing about permission: the call itself did not get through.
NOT_ANSWERED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)

# Answers that say "too many calls, slow down" (Security Hub's is TooManyRequestsException, and
# LimitExceededException, its HTTP 429 for a rate limit).
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "LimitExceededException",
    }
)

# The files in iam/ (README: which identity each is for).
READONLY_POLICY = "iam/ssm3-readonly.json"  # the member role (and the bot's own account)
OPERATOR_POLICY = "iam/ssm3-operator.json"  # added to it when re-running is wanted
FIXES_POLICY = "iam/ssm3-fixes.json"  # ... and when operators may apply a diagnosis's fix
BOT_POLICY = "iam/ssm3-bot.json"  # the bot's own identity
ORG_POLICY = "iam/ssm3-bot-org.json"  # ... when SSM3_ACCOUNTS=org
SECURITYHUB_POLICY = "iam/ssm3-bot-securityhub.json"  # ... when SSM3_SECURITYHUB is on
SECURITYHUB_SYNC_POLICY = "iam/ssm3-bot-securityhub-sync.json"  # ... and when it is sync
MEMBER_ROLE_STACK = "iam/ssm3-member-role.yaml"  # the member role as CloudFormation
EVENTS_POLICY = "iam/ssm3-bot-events.json"  # ... when SSM3_EVENTS_QUEUE_URL is set
EVENTS_CENTRAL_STACK = "iam/ssm3-events-central.yaml"  # the bus, rules and queue

# The policy that grants each action other than the member role's reads (READONLY_POLICY).
BOT_ACCOUNTS_POLICY = "iam/ssm3-bot-accounts.json"  # instead of BOT_POLICY: listed accounts
GRANTED_BY: dict[str, str] = {
    "ssm:StartAssociationsOnce": OPERATOR_POLICY,
    "ssm:UpdateAssociation": FIXES_POLICY,
    "ssm:SendCommand": FIXES_POLICY,
    "ssm:ListCommandInvocations": FIXES_POLICY,
    "ssm:StartAutomationExecution": FIXES_POLICY,
    "ssm:GetAutomationExecution": FIXES_POLICY,
    "sts:AssumeRole": BOT_POLICY,
    "organizations:ListAccounts": ORG_POLICY,
    "securityhub:GetFindings": SECURITYHUB_POLICY,
    "securityhub:DescribeHub": SECURITYHUB_POLICY,
    "securityhub:DescribeSecurityHubV2": SECURITYHUB_POLICY,
    "securityhub:BatchUpdateFindings": SECURITYHUB_SYNC_POLICY,
    "sqs:ReceiveMessage": EVENTS_POLICY,
    "sqs:DeleteMessage": EVENTS_POLICY,
    "sqs:GetQueueAttributes": EVENTS_POLICY,
}


def error_code(exc: BaseException) -> str:
    """AWS's error code ("AccessDeniedException"), or "" when `exc` is no answer from AWS."""
    if not isinstance(exc, ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_denied(exc: BaseException) -> bool:
    """Whether AWS refused the call for want of a permission."""
    return error_code(exc) in DENIED


def is_throttled(exc: BaseException) -> bool:
    """Whether AWS answered "slow down" (after botocore's own retries)."""
    return error_code(exc) in THROTTLED


def describe_error(exc: BaseException) -> str:
    """One readable line for a scope's failure: the AWS error code and message, or the cause."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = exc.operation_name or "AWS"
        code = error.get("Code", "Error")
        message = " ".join(str(error.get("Message", "")).split())
        return f"{operation}: {code}: {message}"[:500] if message else f"{operation}: {code}"
    if isinstance(exc, BotoCoreError):
        return " ".join(str(exc).split())[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def policy_for(action: str) -> str:
    """The file in iam/ that grants `action` ("ssm:ListAssociations" -> iam/ssm3-readonly.json)."""
    return GRANTED_BY.get(action, READONLY_POLICY)


def iam_hint(action: str) -> str:
    """'grant config:DescribeConfigurationRecorders (iam/ssm3-readonly.json)' (plain text)."""
    return f"grant {action} ({policy_for(action)})"


def denied_hint(operation: str, *, account: str, role: str) -> str:
    """For a call the role in a swept account was refused (`operation`: the AWS API name, as
    botocore names it), what to grant to whom (plain text: escape it for mrkdwn)."""
    if operation == "AssumeRole":
        return (
            f"the bot may not assume the role {role} in account {account}: deploy "
            f"{MEMBER_ROLE_STACK} there, trusting the bot's role (BotPrincipalArn); outside "
            f"the bot's organisation, list the account in {BOT_ACCOUNTS_POLICY}"
        )
    action = f"ssm:{operation}"
    if policy_for(action) == OPERATOR_POLICY:
        return (
            f"the role in account {account} may not re-run associations: attach "
            f"{OPERATOR_POLICY} to it (or deploy the member-role stack with "
            "IncludeOperator=true)"
        )
    return f"the role in account {account} lacks {action}: attach {policy_for(action)} to it"


def denied_hint_for(exc: BaseException, *, account: str, role: str) -> str | None:
    """For a refused call in a swept account, what to grant to whom (plain text); None when
    `exc` is no denial."""
    if not isinstance(exc, ClientError) or not is_denied(exc):
        return None
    return denied_hint(exc.operation_name, account=account, role=role)
