"""cdk-nag (v3) wiring and the acknowledgement helper.

cdk-nag 3 plugs into CDK's policy-validation framework: packs are registered with
``Validations.of(app).add_plugins(...)``; a finding that is not acknowledged makes ``app.synth()`` fail and is
written to ``validation-report.json`` in the cloud assembly. (Adding a pack as an Aspect, the v2 way,
fails with ``aspect.visit is not a function``; ``NagSuppressions`` no longer exists.)

Acknowledgements go through :func:`acknowledge`, which insists on a reason a reviewer can accept (a full
sentence) and on the narrowest scope: pass the construct that causes the finding, not the stack.

:func:`synth_or_exit` turns a failing pack (or a :class:`PropsError`) into one line on stderr and an exit
status, instead of a jsii stack trace; use it as the last line of a CDK app.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

from aws_cdk import Acknowledgment, App, Validations
from aws_cdk.cx_api import CloudAssembly
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks
from constructs import IConstruct

from .rules import PACK_NAME, AvaOloChecks, AvaOloChecksProps
from .validation import PropsError

#: Packs by name, so that callers (and configuration) can choose them without importing cdk-nag.
PACKS = {
    "AwsSolutions": AwsSolutionsChecks,
    "NIST.800.53.R5": NIST80053R5Checks,
    PACK_NAME: AvaOloChecks,
}

#: A reason shorter than this is not a sentence a reviewer can judge.
MIN_REASON_LENGTH = 40


def add_compliance_checks(
    app: IConstruct,
    packs: Iterable[str] = ("AwsSolutions", PACK_NAME),
    *,
    policy: Optional[AvaOloChecksProps] = None,
) -> list[NagPack]:
    """Register the named cdk-nag packs on ``app`` (an App or Stage); returns the pack objects.

    ``policy`` parameterizes the ``AvaOlo`` pack (default: the seed's values, see :class:`AvaOloChecksProps`).
    """
    packs = [packs] if isinstance(packs, str) else list(packs)
    if policy is not None and PACK_NAME not in packs:
        raise PropsError("policy", policy, f"only together with the {PACK_NAME!r} pack in packs {packs}")
    added: list[NagPack] = []
    for name in packs:
        if name not in PACKS:
            raise PropsError("compliance_packs", name, f"one of {sorted(PACKS)}")
        pack = AvaOloChecks(app, policy) if name == PACK_NAME else PACKS[name](app)
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


def synth_or_exit(
    app: Union[App, Callable[[], App]], *, errors: tuple[type[BaseException], ...] = ()
) -> CloudAssembly:
    """``app.synth()``, or one line on stderr and ``SystemExit`` instead of a jsii stack trace.

    ``app`` is an App, or a function that builds and returns one (then errors raised while building are caught
    too). Exit status 2: a :class:`PropsError` (or one of ``errors``, e.g. your configuration's error type).
    Exit status 1: unacknowledged policy findings - CDK's listing of them, then one line naming each rule and
    construct and the report file (``validation-report.json``) - or another CDK error, reduced to its first
    line::

        from ava_olo_constructs import synth_or_exit

        app = App()
        MyStack(app, "MyStack")
        synth_or_exit(app)
    """
    try:
        built = app() if callable(app) and not isinstance(app, App) else app
        return built.synth()
    except (PropsError, *errors) as error:
        _exit(2, str(error))
    except RuntimeError as error:  # jsii: the JavaScript error's message, then a long trace
        text = str(error).strip()
        if text.startswith("ValidationFailed"):
            _exit(1, _validation_failure(text))
        _exit(1, text.splitlines()[0] if text else type(error).__name__)
    raise AssertionError("unreachable")


#: How many findings the one line names before it says "and N more".
_NAMED_FINDINGS = 5


def _validation_failure(text: str) -> str:
    """CDK's listing (when it is part of the message) to stderr; the summary line returned."""
    body = text.split(":", 1)[-1]
    match = re.search(r"A copy of this report can be found in: (\S+)", body)
    listing = body[: match.start()].strip() if match else body.strip()
    if listing and listing != "Validation failed.":
        print(listing, file=sys.stderr)
    findings = []
    report = Path(match[1]) if match else None
    try:
        for plugin in json.loads(report.read_text(encoding="utf-8"))["pluginReports"] if report else ():
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []):
                    findings.append(f"{violation['ruleName']} at {construct['constructPath']}")
    except (OSError, ValueError, KeyError, TypeError):
        findings = []
    where = f"; report: {report}" if report else ""
    if not findings:
        return f"unacknowledged cdk-nag findings (listed above){where}"
    named = "; ".join(findings[:_NAMED_FINDINGS])
    more = f" and {len(findings) - _NAMED_FINDINGS} more" if len(findings) > _NAMED_FINDINGS else ""
    count = f"{len(findings)} unacknowledged cdk-nag finding{'s' if len(findings) != 1 else ''}"
    return f"{count}: {named}{more}{where}"


def _exit(status: int, message: str) -> Any:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(status)
