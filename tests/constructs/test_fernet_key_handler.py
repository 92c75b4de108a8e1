"""The ENCRYPTION_KEY generator (custom-resource Lambda): key shape, the idempotent write, the CloudFormation reply.

No AWS access: a real ``secretsmanager`` client with fake credentials, every call answered by botocore's
``Stubber`` (which also fails on any call that was not expected). ``cfnresponse`` only exists inside Lambda, so a
recording stand-in is put into ``sys.modules`` for the handler tests.
"""

from __future__ import annotations

import ast
import base64
import datetime
import os
import sys
import types
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ava_olo_constructs import fernet_key_handler
from ava_olo_constructs.fernet_key_handler import ensure_fernet_key, generate_fernet_key, handler, is_fernet_key

SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:ava-olo/production/encryption-key-AbC123"
SECRET_NAME = "ava-olo/production/encryption-key"
#: What a CDK ``Secret`` without a template holds at first: Secrets Manager's default 32-character password.
PLACEHOLDER = "k;V8#x2^Qm!zP0r$Lb7@Tf&Wn4*Yd9%H"
#: A fixed, valid Fernet key (32 bytes, url-safe base64).
EXISTING_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode("ascii")


# --------------------------------------------------------------------------------------------- key generation


def test_generated_key_is_44_url_safe_base64_characters_of_exactly_32_bytes() -> None:
    key = generate_fernet_key()
    assert isinstance(key, str)
    assert len(key) == 44
    assert key.endswith("=")
    assert set(key[:-1]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)
    assert len(raw) == 32


def test_generated_key_is_accepted_by_cryptography_fernet() -> None:
    pytest.importorskip("cryptography")
    from cryptography.fernet import Fernet

    key = generate_fernet_key()
    token = Fernet(key).encrypt(b"farmer personal data")
    assert Fernet(key.encode("ascii")).decrypt(token) == b"farmer personal data"


def test_two_generated_keys_differ() -> None:
    assert generate_fernet_key() != generate_fernet_key()


# --------------------------------------------------------------------------------------------- is_fernet_key


def test_is_fernet_key_accepts_generated_keys() -> None:
    for _ in range(20):
        assert is_fernet_key(generate_fernet_key()) is True
    assert is_fernet_key(EXISTING_KEY) is True


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param(EXISTING_KEY[:43], id="43-chars"),
        pytest.param(base64.urlsafe_b64encode(bytes(33)).decode("ascii"), id="44-chars-of-33-bytes"),
        pytest.param("é" * 44, id="non-ascii"),
        pytest.param(EXISTING_KEY[:42] + "é=", id="one-non-ascii-char"),
        pytest.param(PLACEHOLDER, id="secrets-manager-default-password"),
        pytest.param("a" * 32, id="32-char-password"),
        pytest.param("A" * 42 + "!=", id="invalid-base64-char"),
        pytest.param(EXISTING_KEY.encode("ascii"), id="bytes-not-str"),
        pytest.param(44, id="int"),
        pytest.param(EXISTING_KEY + "\n", id="trailing-newline"),
    ],
)
def test_is_fernet_key_rejects(value: Any) -> None:
    assert is_fernet_key(value) is False


def test_the_placeholder_fixture_looks_like_secrets_managers_default() -> None:
    """Guard for the fixture itself: 32 characters, so it can never be mistaken for a key."""
    assert len(PLACEHOLDER) == 32


def test_handler_source_only_imports_what_lambda_provides() -> None:
    """The file is shipped as inline code: only the standard library, boto3 and cfnresponse exist there."""
    tree = ast.parse(fernet_key_handler.__loader__.get_source(fernet_key_handler.__name__))  # type: ignore[union-attr]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports do not work in inline Lambda code"
            imported.add((node.module or "").split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"boto3", "cfnresponse"}
    assert imported <= allowed, imported - allowed


# --------------------------------------------------------------------------------------------- ensure_fernet_key


def _client():
    return boto3.client(
        "secretsmanager", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _get_response(value: str) -> dict[str, Any]:
    return {
        "ARN": SECRET_ARN,
        "Name": SECRET_NAME,
        "VersionId": "11111111-1111-1111-1111-111111111111",
        "SecretString": value,
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc),
    }


_PUT_RESPONSE = {
    "ARN": SECRET_ARN,
    "Name": SECRET_NAME,
    "VersionId": "22222222-2222-2222-2222-222222222222",
    "VersionStages": ["AWSCURRENT"],
}


class _RecordingFernetKey:
    """Stub matcher: equal to any valid Fernet key, and remembers every value it was compared with."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __eq__(self, other: object) -> bool:
        self.seen.append(other)
        return is_fernet_key(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<a valid Fernet key>"


def _expected_put(secret_string: Any) -> dict[str, Any]:
    # Exactly these two: no VersionStages, no token of its own (botocore fills the idempotency token later).
    return {"SecretId": SECRET_ARN, "SecretString": secret_string}


def _expect_put(stub: Stubber, secret_string: Any) -> None:
    stub.add_response("put_secret_value", _PUT_RESPONSE, _expected_put(secret_string))


def test_placeholder_is_replaced_by_exactly_one_valid_key() -> None:
    client = _client()
    matcher = _RecordingFernetKey()
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", _get_response(PLACEHOLDER), {"SecretId": SECRET_ARN})
        _expect_put(stub, matcher)
        assert ensure_fernet_key(client, SECRET_ARN) is True
        stub.assert_no_pending_responses()
    written = [value for value in matcher.seen if isinstance(value, str)]
    assert len(written) == 1
    assert is_fernet_key(written[0])
    assert written[0] != PLACEHOLDER


def test_placeholder_write_captured_with_stub_any_is_a_fernet_key() -> None:
    """Same as above, the two-step way: accept ANY, then inspect what botocore was asked to send."""
    client = _client()
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.secrets-manager.PutSecretValue", lambda params, **_: sent.append(dict(params))
    )
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", _get_response(PLACEHOLDER), {"SecretId": SECRET_ARN})
        _expect_put(stub, ANY)
        assert ensure_fernet_key(client, SECRET_ARN) is True
        stub.assert_no_pending_responses()
    assert len(sent) == 1
    assert sent[0]["SecretId"] == SECRET_ARN
    assert is_fernet_key(sent[0]["SecretString"])


def test_secret_without_a_string_value_gets_a_key() -> None:
    """A secret that only has SecretBinary (or no SecretString) is treated like a placeholder."""
    client = _client()
    response = _get_response(PLACEHOLDER)
    del response["SecretString"]
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", response, {"SecretId": SECRET_ARN})
        _expect_put(stub, _RecordingFernetKey())
        assert ensure_fernet_key(client, SECRET_ARN) is True
        stub.assert_no_pending_responses()


def test_existing_valid_key_is_left_alone() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", _get_response(EXISTING_KEY), {"SecretId": SECRET_ARN})
        # No put_secret_value queued: the Stubber raises if the function tries to write.
        assert ensure_fernet_key(client, SECRET_ARN) is False
        stub.assert_no_pending_responses()


# --------------------------------------------------------------------------------------------- handler


class _FakeCfnResponse(types.ModuleType):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"

    def __init__(self) -> None:
        super().__init__("cfnresponse")
        self.calls: list[dict[str, Any]] = []

    def send(self, event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False, reason=None):  # noqa: N803
        self.calls.append(
            dict(
                event=event,
                context=context,
                status=responseStatus,
                data=responseData,
                physical_resource_id=physicalResourceId,
                reason=reason,
            )
        )

    @property
    def only_call(self) -> dict[str, Any]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@pytest.fixture
def cfnresponse(monkeypatch: pytest.MonkeyPatch) -> _FakeCfnResponse:
    fake = _FakeCfnResponse()
    monkeypatch.setitem(sys.modules, "cfnresponse", fake)
    return fake


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch):
    """``boto3.client`` returns one stubbed Secrets Manager client; records which services were asked for."""
    client = _client()
    requested: list[tuple[Any, ...]] = []

    def fake_client(*args: Any, **kwargs: Any):
        requested.append(args)
        return client

    monkeypatch.setattr(boto3, "client", fake_client)
    with Stubber(client) as stub:
        stub.requested = requested  # type: ignore[attr-defined]
        yield stub


def _event(request_type: str) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-central-1:123456789012:function:generator",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": "arn:aws:cloudformation:eu-central-1:123456789012:stack/Data/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "EncryptionKeyKey",
        "ResourceType": "Custom::FernetKey",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "SecretArn": SECRET_ARN},
    }
    if request_type in ("Update", "Delete"):  # CloudFormation sends the previous properties with these
        event["OldResourceProperties"] = {"ServiceToken": "arn:aws:lambda:...", "SecretArn": SECRET_ARN}
    return event


CONTEXT = types.SimpleNamespace(log_stream_name="log-stream", aws_request_id="request-1")


def test_create_writes_a_key_and_reports_success_with_the_secret_arn(cfnresponse, stubbed) -> None:
    matcher = _RecordingFernetKey()
    stubbed.add_response("get_secret_value", _get_response(PLACEHOLDER), {"SecretId": SECRET_ARN})
    _expect_put(stubbed, matcher)
    event = _event("Create")

    assert handler(event, CONTEXT) is None

    call = cfnresponse.only_call
    assert call["status"] == "SUCCESS", call["reason"]
    assert call["physical_resource_id"] == SECRET_ARN
    assert call["event"] is event and call["context"] is CONTEXT
    assert call["data"] == {}, "the key must never be returned as an attribute"
    stubbed.assert_no_pending_responses()
    assert stubbed.requested == [("secretsmanager",)]
    assert sum(is_fernet_key(value) for value in matcher.seen) == 1


def test_create_over_an_existing_key_keeps_it(cfnresponse, stubbed) -> None:
    stubbed.add_response("get_secret_value", _get_response(EXISTING_KEY), {"SecretId": SECRET_ARN})

    handler(_event("Create"), CONTEXT)

    call = cfnresponse.only_call
    assert call["status"] == "SUCCESS", call["reason"]
    assert call["physical_resource_id"] == SECRET_ARN
    stubbed.assert_no_pending_responses()


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_update_and_delete_make_no_api_call_and_report_success(cfnresponse, stubbed, request_type: str) -> None:
    """Same secret: no redeploy may re-key farmer data or overwrite an operator's rotation value."""
    # Nothing queued: any Secrets Manager call would fail the Stubber and turn into FAILED.
    handler(_event(request_type), CONTEXT)

    call = cfnresponse.only_call
    assert call["status"] == "SUCCESS", call["reason"]
    assert call["physical_resource_id"] == SECRET_ARN
    assert stubbed.requested == [], f"{request_type} must not even create a client"


def test_update_to_a_replaced_secret_fills_its_placeholder(cfnresponse, stubbed) -> None:
    """A replaced secret (new ARN) holds a fresh placeholder that would reach the containers: write a key."""
    new_arn = SECRET_ARN.replace("encryption-key", "encryption-key-v2")
    matcher = _RecordingFernetKey()
    stubbed.add_response("get_secret_value", _get_response(PLACEHOLDER), {"SecretId": new_arn})
    stubbed.add_response(
        "put_secret_value", {"ARN": new_arn, "Name": "x", "VersionId": "v" * 32}, {"SecretId": new_arn, "SecretString": matcher}
    )
    event = _event("Update")
    event["ResourceProperties"]["SecretArn"] = new_arn

    handler(event, CONTEXT)

    assert cfnresponse.only_call["status"] == "SUCCESS"
    stubbed.assert_no_pending_responses()
    assert sum(is_fernet_key(value) for value in matcher.seen) == 1


def test_access_denied_reports_failed_with_a_reason_and_does_not_raise(cfnresponse, stubbed) -> None:
    stubbed.add_client_error(
        "get_secret_value",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: secretsmanager:GetSecretValue",
        http_status_code=400,
        expected_params={"SecretId": SECRET_ARN},
    )

    handler(_event("Create"), CONTEXT)  # must not raise: CloudFormation would wait an hour for a reply

    call = cfnresponse.only_call
    assert call["status"] == "FAILED"
    assert call["physical_resource_id"] == SECRET_ARN
    assert call["reason"] and "AccessDenied" in call["reason"]
    assert len(call["reason"]) <= 200
    stubbed.assert_no_pending_responses()


def test_failure_reason_is_truncated_to_200_characters(cfnresponse, stubbed) -> None:
    stubbed.add_client_error(
        "get_secret_value",
        service_error_code="InternalServiceError",
        service_message="x" * 1000,
        http_status_code=500,
    )

    handler(_event("Create"), CONTEXT)

    call = cfnresponse.only_call
    assert call["status"] == "FAILED"
    assert 0 < len(call["reason"]) <= 200


def test_failed_write_reports_failed(cfnresponse, stubbed) -> None:
    stubbed.add_response("get_secret_value", _get_response(PLACEHOLDER), {"SecretId": SECRET_ARN})
    stubbed.add_client_error(
        "put_secret_value",
        service_error_code="AccessDeniedException",
        service_message="kms:GenerateDataKey denied",
        http_status_code=400,
    )

    handler(_event("Create"), CONTEXT)

    call = cfnresponse.only_call
    assert call["status"] == "FAILED"
    assert "kms:GenerateDataKey" in call["reason"]


def test_fixture_key_constant_is_valid() -> None:
    assert is_fernet_key(EXISTING_KEY)
    assert not is_fernet_key(base64.urlsafe_b64encode(os.urandom(33)).decode("ascii"))
