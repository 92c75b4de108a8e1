"""Build one environment's stacks from its validated configuration, and the App that holds them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from aws_cdk import App, Environment, Tags

from ava_olo_constructs import AvaOloChecksProps, add_compliance_checks, standard_tags

from .config import EnvironmentConfig
from .config.model import MAX_ROTATION_DAYS
from .config.delivery import DeliveryConfig
from .data_stack import DataStack
from .delivery_stack import DeliveryStack
from .network_stack import NetworkStack
from .service_stack import ServiceStack, names_for

#: cdk.json at the project root: its "context" holds the feature flags every App of this project must use
#: (tests included, so that what they check is what `cdk synth` produces).
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"

#: cdk-nag packs run on every synth (issue 5 adds NIST 800-53 R5; issue 14 the seed's own policy, AvaOlo).
COMPLIANCE_PACKS = ("AwsSolutions", "NIST.800.53.R5", "AvaOlo")
#: This project's policy for the AvaOlo pack: the seed's low-traffic window (02:00-04:00 UTC) and release tag
#: format (vMAJOR.MINOR.PATCH[-words], "Version Tagging Strategy"), and the configuration's rotation limit (30 days);
#: the pack's other defaults are the seed's too.
POLICY = AvaOloChecksProps(
    low_traffic_window=("02:00", "04:00"),
    image_tag_pattern=r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[a-z0-9]+(-[a-z0-9]+)*)?",
    max_rotation_days=MAX_ROTATION_DAYS,
)


@dataclass(frozen=True)
class EnvironmentStacks:
    config: EnvironmentConfig
    network: NetworkStack
    data: DataStack
    service: ServiceStack

    @property
    def all(self) -> tuple:
        return (self.network, self.data, self.service)


def project_context() -> dict[str, Any]:
    """The feature flags from cdk.json (what the CLI would pass to the app)."""
    return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))


def create_app(
    *,
    outdir: Optional[str] = None,
    context: Optional[Mapping[str, Any]] = None,
    validation: bool = True,
    tree_metadata: bool = True,
) -> App:
    """An App with the project's feature flags and cdk-nag attached.

    ``validation=False`` skips CDK's built-in CloudFormation validation (2.5-4.5 s per process); cfn-lint in
    CI checks the same templates. ``tree_metadata=False`` writes no ``tree.json`` (the construct tree the CDK CLI
    and console show; writing it resolves every property once more, about a fifth of a synthesis): for callers
    that read only the templates and the manifest, like the tests.
    """
    merged = {**project_context(), **dict(context or {})}
    app = App(
        outdir=outdir, context=merged, builtin_cloud_formation_validation=validation, tree_metadata=tree_metadata
    )
    add_compliance_checks(app, COMPLIANCE_PACKS, policy=POLICY)
    return app


def build_environment(app: App, config: EnvironmentConfig) -> EnvironmentStacks:
    """Create ``<Env>Network``, ``<Env>Data`` and ``<Env>Service`` for ``config`` inside ``app``."""
    names = names_for(config)
    env = Environment(account=config.account, region=config.region)
    tags = standard_tags(
        project=config.project,
        environment=config.name,
        service=config.service_name,
        version=config.version,
        extra=config.tags,
    )
    common = dict(env=env, termination_protection=config.termination_protection, tags=tags)
    description = f"AVA OLO {config.service_name} ({config.name}, {config.version})"

    network = NetworkStack(
        app,
        f"{config.title}Network",
        config=config,
        stack_name=names.stack_name("network"),
        description=f"{description}: VPC, subnets, NAT, flow logs",
        **common,
    )
    data = DataStack(
        app,
        f"{config.title}Data",
        config=config,
        names=names,
        vpc=network.vpc,
        stack_name=names.stack_name("data"),
        description=f"{description}: farmer-crm Aurora PostgreSQL, KMS key, credentials, ENCRYPTION_KEY",
        **common,
    )
    service = ServiceStack(
        app,
        f"{config.title}Service",
        config=config,
        vpc=network.vpc,
        database=data.database,
        encryption_key_secret=data.encryption_key_secret,
        stack_name=names.stack_name("service"),
        description=f"{description}: ECS cluster, Fargate service, ALB",
        **common,
    )
    for stack in (network, data, service):
        for key, value in tags.items():
            Tags.of(stack).add(key, value)
    return EnvironmentStacks(config=config, network=network, data=data, service=service)


def build_delivery(app: App, config: DeliveryConfig, construct_id: str = "Delivery") -> DeliveryStack:
    """Create the per-account ``Delivery`` stack (ECR repository, GitHub OIDC roles) inside ``app``."""
    stack = DeliveryStack(
        app,
        construct_id,
        config=config,
        stack_name=f"{config.project}-delivery",
        description=f"AVA OLO delivery ({config.name}): ECR repository and GitHub OIDC deployment roles",
        env=Environment(account=config.account, region=config.region),
        termination_protection=True,  # it holds every released image
        tags={"Project": config.project, "Environment": "shared", **dict(config.tags)},
    )
    for key, value in {"Project": config.project, "Environment": "shared", **dict(config.tags)}.items():
        Tags.of(stack).add(key, value)
    return stack
