"""Which AWS resources an ``ava-olo --env NAME`` command talks to, and how it talks to them.

No names or regions are hard-coded: the stack names follow the project's naming helper
(``ava-olo-<env>-service``, ``ava-olo-<env>-data``), the region comes from ``--region``, else from the
environment's file (``environments/<env>.json`` in the working directory, when it names a region), else from
the standard AWS configuration (``AWS_REGION``, the profile). Everything else - cluster, service, target
group, log group, URL, database - is read from the stacks' outputs.

Clients use botocore's standard retry mode, so throttling is retried with backoff.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

from ava_olo_constructs.naming import ResourceNames

RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
NO_CREDENTIALS = (
    "no AWS credentials found: run 'aws sso login' (or export AWS_PROFILE / AWS_ACCESS_KEY_ID) for the account "
    "of this environment, then try again"
)
_ENV = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
ENV_HELP = "environment name, e.g. staging (environments/ENV.json)"


class TargetError(Exception):
    """Bad input or a missing prerequisite: one line for the operator (exit 2)."""


@dataclass
class Target:
    """One environment's deployed service."""

    environment: str
    region: Optional[str]
    project: str = "ava-olo"
    service: str = "monitoring-dashboards"
    seed_names: bool = False
    profile: Optional[str] = None
    _session: Any = field(default=None, repr=False)
    _outputs: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> ResourceNames:
        return ResourceNames(
            environment=self.environment, service=self.service, project=self.project, seed_names=self.seed_names
        )

    @property
    def service_stack(self) -> str:
        return self.names.stack_name("service")

    @property
    def data_stack(self) -> str:
        return self.names.stack_name("data")

    def client(self, service_name: str) -> Any:
        """A boto3 client for this environment's region with standard retries."""
        if self._session is None:
            self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
        try:
            return self._session.client(service_name, config=RETRIES)
        except NoRegionError:
            raise TargetError(
                f"no AWS region for environment {self.environment!r}: pass --region or set AWS_REGION"
            ) from None

    def outputs(self, stack_name: Optional[str] = None) -> dict[str, str]:
        """The CloudFormation outputs of ``stack_name`` (default: the service stack), cached."""
        stack_name = stack_name or self.service_stack
        if stack_name not in self._outputs:
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
            except ClientError as error:
                if "does not exist" in str(error):
                    raise TargetError(f"stack {stack_name} is not deployed in {self.region or 'the default region'}") from None
                raise
            self._outputs[stack_name] = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return self._outputs[stack_name]

    def output(self, key: str, stack_name: Optional[str] = None) -> str:
        outputs = self.outputs(stack_name)
        if key not in outputs:
            raise TargetError(f"stack {stack_name or self.service_stack} has no output {key!r}: deploy the current version first")
        return outputs[key]

    def parameter(self, name: str, *, call: Optional[Callable[..., Any]] = None) -> Optional[str]:
        """The value of the SSM parameter ``name``; None when it does not exist (ParameterNotFound).

        Other AWS errors raise. ``call(client, "get_parameter", Name=name)`` makes the request when given (e.g.
        ``watch.call``, which retries throttling); by default the client is called directly.
        """
        try:
            ssm = self.client("ssm")
            response = call(ssm, "get_parameter", Name=name) if call is not None else ssm.get_parameter(Name=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise
        return response["Parameter"]["Value"]


def add_target_arguments(
    parser: argparse.ArgumentParser, *, env_help: str = ENV_HELP, version_help: Optional[str] = None
) -> None:
    """``--env`` (required), ``--region`` and ``--profile``: the options of every command that acts on one environment
    (they feed :func:`resolve_target`). With ``version_help``, also a required ``--version`` (listed after ``--env``)."""
    parser.add_argument("--env", required=True, metavar="ENV", help=env_help)
    if version_help is not None:
        parser.add_argument("--version", required=True, metavar="VERSION", help=version_help)
    parser.add_argument("--region", metavar="REGION",
                        help="AWS region (default: the environment file's, else AWS_REGION / the profile's)")
    parser.add_argument("--profile", metavar="PROFILE", help="AWS profile (default: the standard credential chain)")


def resolve_target(
    environment: str,
    *,
    region: Optional[str] = None,
    profile: Optional[str] = None,
    config_dir: Path = Path("environments"),
) -> Target:
    """The target of ``--env``: checks the name, finds the region (flag, environment file, AWS default)."""
    if not isinstance(environment, str) or not _ENV.fullmatch(environment):
        raise TargetError(f"--env: {environment!r} is not an environment name (lower-case letters, digits, hyphens)")
    settings: dict[str, Any] = {}
    path = config_dir / f"{environment}.json"
    if config_dir.is_dir():
        known = sorted(p.stem for p in config_dir.glob("*.json"))
        if known and environment not in known:
            raise TargetError(f"--env: unknown environment {environment!r}; choose one of {', '.join(known)}")
        if path.is_file():
            try:
                settings = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise TargetError(f"{path}: {error}") from None
    configured_region = settings.get("region")
    if region is None and isinstance(configured_region, str) and configured_region != "from-cli":
        region = configured_region
    return Target(
        environment=environment,
        region=region,
        project=settings.get("project", "ava-olo"),
        service=settings.get("service_name", "monitoring-dashboards"),
        seed_names=settings.get("seed_names", False) is True,
        profile=profile,
    )


def explain(error: BaseException) -> Optional[str]:
    """One operator-facing line for the AWS errors every command can meet, or None."""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return NO_CREDENTIALS
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"):
            return f"AWS rejected the credentials ({code}): refresh them ('aws sso login') and try again"
        if code in ("AccessDenied", "AccessDeniedException"):
            return f"access denied: {error.response['Error'].get('Message', '')} - use a role of this environment's account"
    return None


def aws_error_line(error: BaseException, *, prefix: str = "AWS error: ") -> str:
    """One operator line for an AWS error: the guidance of :func:`explain`, else ``prefix`` + botocore's message
    on one line."""
    return explain(error) or prefix + " ".join(str(error).split())
