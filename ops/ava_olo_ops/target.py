"""Which AWS resources an ``ava-olo --env NAME`` command talks to, and how.

Never ``environments/*.json`` nor ``ava_olo_constructs`` / ``aws_cdk`` (a separate distribution): stacks are
``<project>-<env>-service`` / ``-data`` / ``-network`` (``--project``, default ``ava-olo``); cluster, service, target
group, log group and URL are the service stack's outputs; the release parameter is
``/<project>/<env>/<service>/version``; the region is ``--region``, else ``AWS_REGION`` / the profile.

The one retry layer: every client uses botocore's ``standard`` retry mode (throttling and transient network errors
retried with jittered backoff) with short connect/read timeouts, so a dead connection fails in seconds.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

RETRIES = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=20)
NO_CREDENTIALS = (
    "no AWS credentials found: run 'aws sso login' (or export AWS_PROFILE / AWS_ACCESS_KEY_ID) for the account "
    "of this environment, then try again"
)
_ENV = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
ENV_HELP = "environment name, e.g. staging (its stacks are <project>-ENV-service, -data, -network)"


class TargetError(Exception):
    """Bad input or a missing prerequisite: one line for the operator (exit 2)."""


@dataclass
class Target:
    """One environment's deployed service, known by its stacks."""

    environment: str
    region: Optional[str] = None
    project: str = "ava-olo"
    service: str = "monitoring-dashboards"
    profile: Optional[str] = None
    _session: Any = field(default=None, repr=False)
    _outputs: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _described: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def stack(self, purpose: str) -> str:
        return f"{self.project}-{self.environment}-{purpose}"

    @property
    def service_stack(self) -> str:
        return self.stack("service")

    @property
    def data_stack(self) -> str:
        return self.stack("data")

    def client(self, service_name: str) -> Any:
        """A boto3 client for this environment's region with botocore's standard retries (one per service)."""
        if service_name in self._clients:
            return self._clients[service_name]
        if self._session is None:
            self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
        try:
            client = self._clients[service_name] = self._session.client(service_name, config=RETRIES)
            return client
        except NoRegionError:
            raise TargetError(f"no AWS region for environment {self.environment!r}: pass --region or set AWS_REGION") from None

    def describe_stack(self, stack_name: Optional[str] = None) -> Optional[dict[str, Any]]:
        """``describe_stacks`` of ``stack_name`` (default the service stack); None when it does not exist."""
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=stack_name or self.service_stack)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return stacks[0] if stacks else None

    def described_stack(self, stack_name: Optional[str] = None) -> Optional[dict[str, Any]]:
        """:meth:`describe_stack`, read once for this target: what a one-shot command (preflight, status) reads
        of a stack - outputs, parameters, status - comes from one ``DescribeStacks`` instead of one per check.
        A stack not found is asked again next time (it may be being created). A command that follows a stack
        as it changes (``watch``) calls :meth:`describe_stack` on every poll."""
        stack_name = stack_name or self.service_stack
        if stack_name not in self._described:
            stack = self.describe_stack(stack_name)
            if stack is None:
                return None
            self._described[stack_name] = stack
        return self._described[stack_name]

    def outputs(self, stack_name: Optional[str] = None) -> dict[str, str]:
        """The CloudFormation outputs of ``stack_name`` (default: the service stack), cached."""
        stack_name = stack_name or self.service_stack
        if stack_name not in self._outputs:
            stack = self.described_stack(stack_name)
            if stack is None:
                raise TargetError(f"stack {stack_name} is not deployed in {self.region or 'the default region'}")
            self._outputs[stack_name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return self._outputs[stack_name]

    def output(self, key: str, stack_name: Optional[str] = None) -> str:
        outputs = self.outputs(stack_name)
        if key not in outputs:
            raise TargetError(f"stack {stack_name or self.service_stack} has no output {key!r}: deploy the current version first")
        return outputs[key]

    def parameter(self, name: str) -> Optional[str]:
        """The value of the SSM parameter ``name``; None when it does not exist. Other AWS errors raise."""
        try:
            return self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise

    @property
    def version_parameter(self) -> str:
        """Where the stack records the release it deployed: ``/<project>/<env>/<service>/version``."""
        return f"/{self.project}/{self.environment}/{self.service}/version"


def add_target_arguments(
    parser: argparse.ArgumentParser, *, env_help: str = ENV_HELP, version_help: Optional[str] = None,
    env_required: bool = True,
) -> None:
    """``--env``, ``--region``, ``--profile``, ``--project`` (and with ``version_help`` a required ``--version``)."""
    parser.add_argument("--env", required=env_required, metavar="ENV", help=env_help)
    if version_help is not None:
        parser.add_argument("--version", required=True, metavar="VERSION", help=version_help)
    parser.add_argument("--region", metavar="REGION", help="AWS region (default: AWS_REGION / the profile's)")
    parser.add_argument("--profile", metavar="PROFILE", help="AWS profile (default: the standard credential chain)")
    parser.add_argument("--project", default="ava-olo", metavar="NAME", help="stack name prefix (default ava-olo)")
    parser.add_argument("--app-service", default="monitoring-dashboards", metavar="NAME",
                        help="the service's name in its SSM prefix /<project>/<env>/NAME (default monitoring-dashboards)")


def resolve_target(
    environment: str, *, region: Optional[str] = None, profile: Optional[str] = None,
    project: str = "ava-olo", service: str = "monitoring-dashboards", **_ignored: Any,
) -> Target:
    """The target of ``--env``: checks the name only; everything else is learnt from AWS."""
    if not isinstance(environment, str) or not _ENV.fullmatch(environment):
        raise TargetError(f"--env: {environment!r} is not an environment name (lower-case letters, digits, hyphens)")
    return Target(environment=environment, region=region, project=project, service=service, profile=profile)


def target_argv(args: argparse.Namespace) -> list[str]:
    """The options of :func:`add_target_arguments` (all but ``--env``) as an argument list, for a command that
    runs another ``ava-olo`` command against the same target (``deploy`` runs preflight, migrate, verify)."""
    return options_argv(
        ("--region", args.region), ("--profile", args.profile), ("--project", getattr(args, "project", None)),
        ("--app-service", getattr(args, "app_service", None)),
    )


def options_argv(*options: tuple[str, Optional[str]]) -> list[str]:
    """``("--region", "eu-west-1"), ("--profile", None)`` -> ``["--region", "eu-west-1"]``: the options that are set."""
    return [item for option, value in options if value for item in (option, value)]


def from_args(args: argparse.Namespace) -> Target:
    """:func:`resolve_target` from the options of :func:`add_target_arguments`."""
    return resolve_target(args.env, region=args.region, profile=args.profile,
                          project=getattr(args, "project", "ava-olo"), service=getattr(args, "app_service", "monitoring-dashboards"))


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
    """One operator line for an AWS error: the guidance of :func:`explain`, else ``prefix`` + botocore's message."""
    return explain(error) or prefix + " ".join(str(error).split())
