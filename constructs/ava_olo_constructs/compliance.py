"""cdk-nag (v3) wiring and the acknowledgement helper.

cdk-nag 3 plugs into CDK's policy-validation framework: packs are registered with
``Validations.of(app).add_plugins(...)``; a finding that is not acknowledged makes ``app.synth()`` fail and is
written to ``policy-validation-report.json`` in the cloud assembly. (Adding a pack as an Aspect, the v2 way,
fails with ``aspect.visit is not a function``; ``NagSuppressions`` no longer exists.)

Acknowledgements go through :func:`acknowledge`, which insists on a reason a reviewer can accept (a full
sentence) and on the narrowest scope: pass the construct that causes the finding, not the stack.
"""

from __future__ import annotations

from typing import Iterable

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks
from constructs import IConstruct

from .validation import PropsError

#: Packs by name, so that callers (and configuration) can choose them without importing cdk-nag.
PACKS = {
    "AwsSolutions": AwsSolutionsChecks,
    "NIST.800.53.R5": NIST80053R5Checks,
}

#: A reason shorter than this is not a sentence a reviewer can judge.
MIN_REASON_LENGTH = 40


def add_compliance_checks(app: IConstruct, packs: Iterable[str] = ("AwsSolutions",)) -> list[NagPack]:
    """Register the named cdk-nag packs on ``app`` (an App or Stage); returns the pack objects."""
    added: list[NagPack] = []
    for name in packs:
        if name not in PACKS:
            raise PropsError("compliance_packs", name, f"one of {sorted(PACKS)}")
        pack = PACKS[name](app)
        Validations.of(app).add_plugins(pack)
        added.append(pack)
    return added


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` (and its children) with a reviewable reason.

    ``rule_id`` is the finding's id, e.g. ``AwsSolutions-EC23`` or ``AwsSolutions-IAM5[Resource::*]``.
    """
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH or not reason.endswith("."):
        raise PropsError(
            "reason", reason, f"a full sentence (at least {MIN_REASON_LENGTH} characters, ending with '.')"
        )
    pack = rule_id.split("-", 1)[0]
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{rule_id}", reason=reason))


#: Why a Lambda function's W3005 (DependsOn its role) is switched off where CDK renders it.
ROLE_DEPENDENCY_REASON = (
    "CDK makes a function depend on its role construct so the role's policy exists before the first "
    "invocation; that also renders a DependsOn on the role the function already references."
)


def ignore_lint_check(resource: IConstruct, check: str, reason: str) -> None:
    """Switch one cfn-lint check off for one resource, in the template, with the reason beside the call.

    For findings about what CDK itself renders (e.g. W3005, an explicit ``DependsOn`` that duplicates a
    ``Ref``) that cannot be removed without losing an ordering CDK needs. ``resource`` is a CfnResource or an L2
    construct whose default child is one.
    """
    from aws_cdk import CfnResource

    target = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(target, CfnResource):
        raise PropsError("resource", resource.node.path, "a CloudFormation resource or a construct wrapping one")
    if len(" ".join(reason.split())) < MIN_REASON_LENGTH:
        raise PropsError("reason", reason, f"a full sentence (at least {MIN_REASON_LENGTH} characters)")
    target.add_metadata("cfn-lint", {"config": {"ignore_checks": [check]}})


def acknowledgements(scope: IConstruct) -> list[tuple[str, str, str]]:
    """Every cdk-nag acknowledgement at or below ``scope`` as ``(construct path, rule id, reason)``.

    Lets a test pin the exact set per stack, so that a new acknowledgement is a visible, reviewed change.
    """
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != key:
                continue
            for rule, reason in entry.data.items():
                pack, _, rule_id = rule.partition("::")
                if pack in PACKS:
                    found.append((construct.node.path, rule_id, reason))
    return sorted(found)
