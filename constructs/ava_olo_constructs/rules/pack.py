"""The :class:`AvaOloChecks` cdk-nag (v3) rule pack: the seed's deployment and data practices as policy."""

from __future__ import annotations

import inspect
from typing import Optional

import jsii
from aws_cdk import CfnResource
from cdk_nag import IApplyRule, NagMessageLevel, NagPack
from constructs import IConstruct

from ..validation import PropsError
from . import (
    alarm_notifies,
    credentials_rotation,
    database_windows,
    deregistration_delay,
    ecs_deployment_safety,
    ecs_health_check_grace,
    log_retention,
    plain_environment_secrets,
    stateful_deletion_policy,
    target_group_health_check,
    versioned_image,
)
from ._support import NagRule, Resource
from .policy import AvaOloChecksProps

PACK_NAME = "AvaOlo"

#: Every rule of the pack, one module each.
RULES: tuple[NagRule, ...] = (
    target_group_health_check.RULE,
    deregistration_delay.RULE,
    ecs_deployment_safety.RULE,
    database_windows.RULE,
    plain_environment_secrets.RULE,
    versioned_image.RULE,
    log_retention.RULE,
    stateful_deletion_policy.RULE,
    alarm_notifies.RULE,
    ecs_health_check_grace.RULE,
    credentials_rotation.RULE,
)


@jsii.implements(IApplyRule)
class _Application:
    """One rule applied to one resource, in the shape cdk-nag's ``applyRule`` takes (jsii reads the properties)."""

    def __init__(
        self, rule: NagRule, node: CfnResource, resource: "Resource | Exception", policy: AvaOloChecksProps
    ) -> None:
        self._rule, self._node, self._resource, self._policy = rule, node, resource, policy

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.id

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, node: CfnResource):  # noqa: ARG002 - the resource was read once for every rule
        if isinstance(self._resource, Exception):
            raise self._resource  # cdk-nag reports "Rule threw an error" for this rule and resource
        return self._rule.check(self._resource, self._policy)


class AvaOloChecks(NagPack):
    """cdk-nag pack ``AvaOlo``: health checks, draining, deployment safety, grace period, database windows,
    secrets, image versions, log retention, stateful deletion policies, alarm actions and credentials rotation, for any CDK app (rules
    read L1 properties).

    Register it like any cdk-nag 3 pack; findings are acknowledged as ``AvaOlo::AvaOlo-<Rule>``::

        Validations.of(app).add_plugins(AvaOloChecks(app, AvaOloChecksProps(low_traffic_window=("05:00", "07:00"))))

    :param scope: the App (or Stage) the pack is added to.
    :param props: the policy (:class:`AvaOloChecksProps`); default: the seed's values.
    :param verbose: cdk-nag's verbose findings (explanation after the info).
    """

    def __init__(
        self, scope: Optional[IConstruct] = None, props: Optional[AvaOloChecksProps] = None, *, verbose: bool = False
    ) -> None:
        super().__init__(scope, verbose=verbose)
        if props is not None and not isinstance(props, AvaOloChecksProps):
            raise PropsError("props", props, "an AvaOloChecksProps")
        self._pack_name = PACK_NAME
        self._policy = props or AvaOloChecksProps()
        by_type: dict[str, list[NagRule]] = {}
        for rule in RULES:
            for resource_type in rule.resource_types or self._policy.stateful_resource_types:
                by_type.setdefault(resource_type, []).append(rule)
        self._rules_by_type = by_type

    @property
    def policy(self) -> AvaOloChecksProps:
        return self._policy

    @property  # type: ignore[misc]
    @jsii.member(jsii_name="name")
    def name(self) -> str:
        return PACK_NAME

    @jsii.member(jsii_name="checkResource")
    def _check_resource(self, node: CfnResource) -> None:
        rules = self._rules_by_type.get(node.cfn_resource_type)
        if not rules:
            return
        try:
            resource: "Resource | Exception" = Resource.of(node)
        except Exception as error:  # noqa: BLE001 - reported per rule by cdk-nag, never a crashed plugin
            resource = error
        for rule in rules:
            self._apply_rule(_Application(rule, node, resource, self._policy))


# jsii's metaclass hides the constructor behind ``(*args, **kwargs)``; show the real one in help() and IDEs.
AvaOloChecks.__signature__ = inspect.signature(AvaOloChecks.__init__).replace(  # type: ignore[attr-defined]
    parameters=list(inspect.signature(AvaOloChecks.__init__).parameters.values())[1:]
)
