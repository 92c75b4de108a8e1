"""The :class:`AvaOloChecks` cdk-nag (v3) rule pack: the seed's deployment and data practices as policy."""

from __future__ import annotations

import functools
import inspect
from typing import Optional

import jsii
from aws_cdk import CfnResource
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
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
from ._support import NagRule, Resource, Result
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


#: What a check may answer that cdk-nag 3 does nothing with: its ``applyRule`` records a finding only for
#: ``NON_COMPLIANT``, for each entry of a list, or for an error.
_NOTHING_TO_RECORD = (NagRuleCompliance.COMPLIANT, NagRuleCompliance.NOT_APPLICABLE)


@jsii.implements(IApplyRule)
class _Application:
    """One rule's outcome on one resource, in the shape cdk-nag's ``applyRule`` takes (jsii reads the properties,
    each read a callback into Python): ``rule`` hands cdk-nag the outcome the check already produced, or raises
    its error again."""

    def __init__(self, rule: NagRule, node: CfnResource, outcome: "Result | Exception") -> None:
        self._rule, self._node, self._outcome = rule, node, outcome

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

    def rule(self, node: CfnResource) -> Result:  # noqa: ARG002 - checked before, see AvaOloChecks._check_resource
        if isinstance(self._outcome, Exception):
            raise self._outcome  # cdk-nag reports "Rule threw an error" for this rule and resource
        return self._outcome


@functools.cache
def _known_type(cls: type) -> Optional[str]:
    """The CloudFormation type every instance of ``cls`` has, if the class fixes it: a generated L1 class
    (``CfnBucket``...) passes its own ``CFN_RESOURCE_TYPE_NAME`` to ``CfnResource``, whatever the caller gives it.
    ``None`` for anything else (a plain ``CfnResource``, whose type is per instance): ask the instance.
    Read once per class and process, instead of a round trip to the jsii runtime per resource."""
    constant = inspect.getattr_static(cls, "CFN_RESOURCE_TYPE_NAME", None)
    if constant is None or type(constant).__module__ != jsii.python.__name__:  # not jsii's generated constant
        return None
    value = cls.CFN_RESOURCE_TYPE_NAME  # type: ignore[attr-defined]
    return value if isinstance(value, str) else None


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
        """Called back by cdk-nag (in the jsii runtime) for every ``CfnResource`` of the tree. Every read of the
        node is a round trip to that runtime, so this reads as little as it can: the type from the node's class
        where the class fixes it, the properties once for all rules of the type. Each rule is checked here, and
        only an outcome cdk-nag records (a finding or an error) goes to ``applyRule``, which reads the
        application's fields back with a callback each; for a compliant or not-applicable outcome it records
        nothing, so the findings are the same."""
        resource_type = _known_type(type(node)) or node.cfn_resource_type
        rules = self._rules_by_type.get(resource_type)
        if not rules:
            return
        try:
            resource: "Resource | Exception" = Resource.of(node, resource_type)
        except Exception as error:  # noqa: BLE001 - reported per rule by cdk-nag, never a crashed plugin
            resource = error
        for rule in rules:
            outcome: "Result | Exception"
            if isinstance(resource, Exception):
                outcome = resource
            else:
                try:
                    outcome = rule.check(resource, self._policy)
                except Exception as error:  # noqa: BLE001 - as above
                    outcome = error
            if isinstance(outcome, NagRuleCompliance) and outcome in _NOTHING_TO_RECORD:
                continue
            if isinstance(outcome, list) and not outcome:
                continue
            self._apply_rule(_Application(rule, node, outcome))


# jsii's metaclass hides the constructor behind ``(*args, **kwargs)``; show the real one in help() and IDEs.
AvaOloChecks.__signature__ = inspect.signature(AvaOloChecks.__init__).replace(  # type: ignore[attr-defined]
    parameters=list(inspect.signature(AvaOloChecks.__init__).parameters.values())[1:]
)
