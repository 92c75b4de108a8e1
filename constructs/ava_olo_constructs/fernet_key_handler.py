"""Custom-resource handler that puts a valid Fernet key into a Secrets Manager secret (runs in AWS Lambda).

Shipped as inline code (CloudFormation ``ZipFile``), which is why ``cfnresponse`` is importable there. A Fernet
key is 32 random bytes, url-safe base64: 44 characters ending in ``=``. Secrets Manager's own generator cannot
produce that shape, so this function does, and the key never leaves the function except into the secret.
Only Create writes, and only over the placeholder CloudFormation generated. An Update writes only when the
secret itself was replaced (a new ``SecretArn``, whose fresh placeholder would otherwise reach the containers);
otherwise Update and Delete never touch the secret. So no redeploy can re-key farmer data, and a value an
operator wrote during a key rotation (for example ``NEW,OLD`` for MultiFernet, README) is never overwritten.
"""

import base64
import os

FERNET_KEY_BYTES = 32


def generate_fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(FERNET_KEY_BYTES)).decode("ascii")


def is_fernet_key(value) -> bool:
    if not isinstance(value, str) or len(value) != 44:
        return False
    try:
        return len(base64.urlsafe_b64decode(value.encode("ascii"))) == FERNET_KEY_BYTES and value.endswith("=")
    except (ValueError, UnicodeEncodeError):
        return False


def ensure_fernet_key(client, secret_id: str) -> bool:
    """Store a new key unless the secret already holds a valid one. Returns True when it wrote a key."""
    current = client.get_secret_value(SecretId=secret_id).get("SecretString")
    if is_fernet_key(current):
        return False
    client.put_secret_value(SecretId=secret_id, SecretString=generate_fernet_key())
    return True


def handler(event, context):
    import boto3
    import cfnresponse

    secret_id = event.get("ResourceProperties", {}).get("SecretArn", "missing-SecretArn")
    try:
        previous = event.get("OldResourceProperties", {}).get("SecretArn")
        if event["RequestType"] == "Create" or (event["RequestType"] == "Update" and previous != secret_id):
            ensure_fernet_key(boto3.client("secretsmanager"), secret_id)
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, physicalResourceId=secret_id)
    except Exception as error:  # report, never hang the stack for an hour
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, physicalResourceId=secret_id, reason=str(error)[:200])
