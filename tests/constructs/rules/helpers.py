"""Run the AvaOlo pack directly on a hand-made stack (``NagPack.validate_scope``): no synth, no CFN validation."""

from __future__ import annotations

from typing import Optional

from aws_cdk import App, Stack

from ava_olo_constructs import AvaOloChecks, AvaOloChecksProps


def new_stack(name: str = "Rules") -> Stack:
    return Stack(App(builtin_cloud_formation_validation=False), name)


def findings(
    stack: Stack, policy: Optional[AvaOloChecksProps] = None, rule: Optional[str] = None
) -> dict[str, set[str]]:
    """Construct id (the resource's parent, e.g. ``Bad``) -> the AvaOlo rule ids it violates (only ``rule``'s,
    findings included, if given)."""
    report = AvaOloChecks(None, policy).validate_scope(stack)
    found: dict[str, set[str]] = {}
    for violation in report.violations:
        if rule and violation.rule_name.split("[")[0] != rule:
            continue
        for resource in violation.violating_resources:
            construct = resource.construct_path.split("/")[1]
            found.setdefault(construct, set()).add(violation.rule_name)
    return found
