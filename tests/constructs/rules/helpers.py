"""Run the AvaOlo pack directly on a hand-made stack (``NagPack.validate_scope``): no synth, no CFN validation."""

from __future__ import annotations

from typing import Optional

from aws_cdk import App, Stack

from ava_olo_constructs import AvaOloChecks, AvaOloChecksProps

#: (id of the stack, policy) -> (the stack, its findings). The stack is kept so that its id is never reused.
_FOUND: dict[tuple[int, Optional[AvaOloChecksProps]], tuple[Stack, dict[str, frozenset[str]]]] = {}


def new_stack(name: str = "Rules") -> Stack:
    return Stack(App(builtin_cloud_formation_validation=False), name)


def findings(
    stack: Stack, policy: Optional[AvaOloChecksProps] = None, rule: Optional[str] = None
) -> dict[str, set[str]]:
    """Construct id (the resource's parent, e.g. ``Bad``) -> the AvaOlo rule ids it violates (only ``rule``'s,
    findings included, if given).

    The pack runs once per stack and policy: a module's stack is built once and not changed afterwards, so the
    tests that ask about the same stack and policy read one report (the report alone is a jsii round trip per
    field of every violation). Add nothing to a stack after its first check."""
    key = (id(stack), policy)
    if key not in _FOUND:
        report = AvaOloChecks(None, policy).validate_scope(stack)
        found: dict[str, set[str]] = {}
        for violation in report.violations:
            for resource in violation.violating_resources:
                construct = resource.construct_path.split("/")[1]
                found.setdefault(construct, set()).add(violation.rule_name)
        _FOUND[key] = (stack, {construct: frozenset(names) for construct, names in found.items()})
    return {
        construct: {name for name in names if not rule or name.split("[")[0] == rule}
        for construct, names in _FOUND[key][1].items()
        if not rule or any(name.split("[")[0] == rule for name in names)
    }
