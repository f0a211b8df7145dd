"""A loopback HTTP endpoint that speaks SSM, Organizations and Config (JSON 1.1), Security Hub
(rest-json) and STS (query/XML).

Unmodified boto3 reaches it through `endpoint_url` or `AWS_ENDPOINT_URL`. The caller's
account is told by the access key in the SigV4 `Authorization` header and the region by its
credential scope, just as AWS itself does; signatures are not verified.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from bot.sim.fleet import Call, Credential, Fleet
from bot.sim.handlers import HANDLERS, ApiError, Caller
from bot.sim.loopback import LoopbackServer
from bot.sim.remedy_api import HANDLERS as REMEDY_HANDLERS
from bot.sim.restjson import REST_JSON_SERVICES, route
from bot.sim.securityhub_v2 import HANDLERS as HUB_HANDLERS
from bot.sim.shapes import check_output

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_TARGETS = {
    "AmazonSSM": "ssm",
    "AWSOrganizationsV20161128": "organizations",
    "StarlingDoveService": "config",
}
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_HANDLERS = {**HANDLERS, **REMEDY_HANDLERS, **HUB_HANDLERS}


class SimServer(LoopbackServer):
    """Serves a Fleet on 127.0.0.1 from a background thread; use as a context manager."""

    def __init__(
        self, fleet: Fleet, *, host: str = "127.0.0.1", port: int = 0, validate: bool = True
    ) -> None:
        self.fleet = fleet
        self.validate = validate
        handler = type("_BoundHandler", (_Handler,), {"fleet": fleet, "validate": validate})
        super().__init__(handler, name="ssm3-sim", host=host, port=port)

    @property
    def endpoint_url(self) -> str:
        return self.url


class _Handler(BaseHTTPRequestHandler):
    fleet: Fleet
    validate: bool
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits 40 ms for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the call counter is the simulator's log."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target")
        if target:
            prefix, _, operation = target.partition(".")
            service = _TARGETS.get(prefix, prefix)
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            self._dispatch(service, operation, params, json_protocol=True)
        elif self._signed_for() in REST_JSON_SERVICES:
            self._rest("POST", body)
        else:
            form = dict(parse_qsl(body.decode()))
            self._dispatch("sts", form.get("Action", ""), _unflatten(form), json_protocol=False)

    def do_GET(self) -> None:
        self._rest("GET", b"")

    def do_PATCH(self) -> None:  # rest-json updates (Security Hub's BatchUpdateFindings)
        length = int(self.headers.get("Content-Length") or 0)
        self._rest("PATCH", self.rfile.read(length) if length else b"")

    def _signed_for(self) -> str:
        """The service named in the SigV4 credential scope (rest-json has no target header)."""
        match = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        return match.group(3) if match else ""

    def _rest(self, method: str, body: bytes) -> None:
        service = self._signed_for()
        operation, params = route(service, method, self.path, body)
        self._dispatch(service, operation or f"{method} {self.path}", params, json_protocol=True)

    def _dispatch(
        self, service: str, operation: str, params: Mapping[str, Any], *, json_protocol: bool
    ) -> None:
        fleet = self.fleet
        match = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        access_key, region = (match.group(1), match.group(2)) if match else ("", "us-east-1")
        credential = fleet.credentials.get(access_key)
        account_id = credential.account_id if credential else None
        call = Call(service, operation, account_id, region)
        fleet.record_call(call)
        delay = fleet.latency_for(operation, account_id, region)
        if delay:
            time.sleep(delay)
        fault = fleet.take_fault(operation, account_id, region)
        if fault is not None and fault.drop:
            self.close_connection = True
            self.connection.close()
            return
        try:
            if fault is not None:
                raise ApiError(fault.error_code, fault.message, fault.http_status)
            caller = self._authenticate(service, credential, region)
            handler = _HANDLERS.get((service, operation))
            if handler is None:
                raise ApiError(
                    "InvalidAction", f"The simulator does not implement {service}:{operation}"
                )
            result = handler(fleet, caller, params)
            if self.validate:
                problems = check_output(service, operation, result)
                if problems:
                    with fleet.lock:
                        fleet.violations.extend(problems)
                    raise ApiError("InternalFailure", "; ".join(problems)[:500], 500)
        except ApiError as error:
            fleet.record_error(call, error.code)
            self._send_error(error, json_protocol)
            return
        if json_protocol:
            self._send(
                200, json.dumps(result, default=_epoch).encode(), "application/x-amz-json-1.1"
            )
        else:
            self._send(200, _query_response(operation, result).encode(), "text/xml")

    def _authenticate(self, service: str, credential: Credential | None, region: str) -> Caller:
        if credential is None:
            code = "InvalidClientTokenId" if service == "sts" else "UnrecognizedClientException"
            raise ApiError(code, "The security token included in the request is invalid.", 403)
        if (
            credential.session_token
            and self.headers.get("X-Amz-Security-Token") != credential.session_token
        ):
            raise ApiError(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                403,
            )
        if credential.expires_at is not None and credential.expires_at <= self.fleet.now():
            code = "ExpiredToken" if service == "sts" else "ExpiredTokenException"
            raise ApiError(code, "The security token included in the request is expired", 400)
        return Caller(credential, region)

    def _send_error(self, error: ApiError, json_protocol: bool) -> None:
        if json_protocol:
            payload = json.dumps({"__type": error.code, "message": error.message}).encode()
            self._send(
                error.status,
                payload,
                "application/x-amz-json-1.1",
                {"x-amzn-ErrorType": error.code},
            )
        else:
            kind = "Sender" if error.status < 500 else "Receiver"
            xml = (
                f'<ErrorResponse xmlns="{_STS_NS}"><Error><Type>{kind}</Type>'
                f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
            self._send(error.status, xml.encode(), "text/xml")

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _epoch(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _unflatten(form: Mapping[str, str]) -> dict[str, Any]:
    """Query-protocol parameters are flat (`Tags.member.1.Key`); STS's calls here need only scalars."""
    return {key: value for key, value in form.items() if key not in {"Action", "Version"}}


def _query_response(operation: str, result: Mapping[str, Any]) -> str:
    return (
        f'<{operation}Response xmlns="{_STS_NS}"><{operation}Result>{_xml(result)}</{operation}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{operation}Response>"
    )


def _xml(value: Any) -> str:
    if isinstance(value, Mapping):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))
