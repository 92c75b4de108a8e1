"""``ava-olo guard``: fail before a deploy that would delete or replace a stateful resource.

Seed: "Nothing stateful is lost". Which types hold data is cfn-lint's list (``StatefulResources.json``: database
clusters and instances, secrets, KMS keys, log groups, buckets, tables, ...); what replaces a resource is its
CloudFormation registry schema as bundled with cfn-lint (``createOnlyProperties``, ``conditionalCreateOnlyProperties``).
No copy of either is kept here.

* **Change set** (authoritative, credentials): :func:`guard_change_set` reads every page of ``DescribeChangeSet``
  and fails on a stateful resource with ``Replacement`` ``True`` / ``Conditional``, ``Action`` ``Remove`` or a
  ``PolicyAction`` that deletes (``Delete``, ``ReplaceAndDelete``); it sees parameters, conditions and service-side
  replacement. A weakened ``DeletionPolicy`` / ``UpdateReplacePolicy`` is no resource change, so the deployed and
  new templates are compared for that too. ``ava-olo deploy`` executes exactly the change sets that passed.
* **Offline** (pull requests, laptops): :func:`compare` of two templates: a stateful resource removed or renamed
  (new logical ID), its type changed, a (conditionally) create-only property changed, or a policy weakened.

What AWS then does: a *custom-named* resource (its name property such as ``DBClusterIdentifier`` set) is not
replaced - CloudFormation refuses the update ("cannot update a stack when a custom-named resource requires
replacing"), and a rename fails to create ("already exists"); the stack rolls back. An *unnamed* one is replaced
by a new, empty resource and the old one deleted, retained or snapshotted per ``UpdateReplacePolicy``; a removed
one per ``DeletionPolicy``. The stack policy (:mod:`.stack_policy`) makes CloudFormation refuse it even without
the guard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

SCHEMA_REGION = "us-east-1"  # the region whose bundled schemas cover the most types; create-only is type-wide
DELETING = frozenset({"Delete", "ReplaceAndDelete"})
PROTECTIVE = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


class GuardInputError(Exception):
    """Bad input or an unreadable assembly: one line, exit 2."""


@dataclass(frozen=True)
class Violation:
    logical_id: str
    resource_type: str
    reason: str

    def line(self) -> str:
        return f"{self.logical_id} ({self.resource_type}): {self.reason}"


@dataclass(frozen=True)
class StackResult:
    """The verdict on one stack: ``status`` is ``checked``, ``unchanged`` (nothing to execute) or ``error``."""

    name: str
    status: str
    violations: tuple[Violation, ...] = ()
    detail: str = ""


# --- Facts from cfn-lint -------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def stateful_types() -> frozenset[str]:
    """The resource types that hold data, as cfn-lint lists them (its rule I3011)."""
    from importlib.resources import files
    try:
        text = files("cfnlint.data.AdditionalSpecs").joinpath("StatefulResources.json").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise GuardInputError("the guard reads cfn-lint's resource data: pip install -r requirements-dev.txt") from None
    return frozenset(json.loads(text)["ResourceTypes"])


@lru_cache(maxsize=None)
def schema(resource_type: str) -> dict[str, Any]:
    """The CloudFormation registry schema of ``resource_type`` bundled with cfn-lint ({} when unknown)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError
    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type).schema
    except ResourceNotFoundError:
        return {}


def name_property(resource_type: str) -> Optional[str]:
    """The create-only ``Name`` / ``<Type>Name`` / ``<Type>Identifier`` property (None for a KMS key)."""
    short = resource_type.rsplit("::", 1)[-1]
    for pointer in schema(resource_type).get("createOnlyProperties", []):
        prop = pointer.removeprefix("/properties/")
        if prop in ("Name", f"{short}Name", f"{short}Identifier"):
            return prop
    return None


# --- What AWS does -------------------------------------------------------------------------------------------------


def _resources(template: Any) -> dict[str, Any]:
    resources = template.get("Resources") if isinstance(template, Mapping) else None
    if not isinstance(resources, Mapping) or not all(isinstance(r, Mapping) and "Type" in r for r in resources.values()):
        raise GuardInputError("not a CloudFormation template: it needs a Resources object whose entries have a Type")
    return dict(resources)


def policy(resource: Mapping[str, Any], attribute: str) -> str:
    """The effective policy; documented defaults: DeletionPolicy Snapshot for RDS clusters / lone instances, else Delete."""
    value = resource.get(attribute)
    if isinstance(value, str):
        return value
    kind, props = resource.get("Type"), resource.get("Properties") or {}
    standalone = kind == "AWS::RDS::DBCluster" or (kind == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in props)
    return "Snapshot" if attribute == "DeletionPolicy" and standalone else "Delete"


def _fate(resource: Optional[Mapping[str, Any]], attribute: str) -> str:
    if resource is None:
        return "what happens to the old one depends on its policy"
    value = policy(resource, attribute)
    if value.startswith("Retain"):
        return f"the old one is kept out of the stack, no longer managed ({attribute} {value})"
    if value == "Snapshot":
        return f"the old one is deleted after a final snapshot ({attribute} Snapshot)"
    return f"the old one and its data are DELETED ({attribute} {value})"


def _named(resource: Optional[Mapping[str, Any]]) -> Optional[str]:
    prop = name_property(str(resource.get("Type"))) if resource else None
    return prop if prop and prop in (resource.get("Properties") or {}) else None


def replacement_reason(resource: Optional[Mapping[str, Any]], why: str, conditional: bool = False) -> str:
    named = _named(resource)
    may = "may require" if conditional else "requires"
    if named:
        return (f"{why} {may} replacement: custom-named ({named}), so CloudFormation refuses the update (\"cannot "
                "update a stack when a custom-named resource requires replacing\") and rolls back")
    return f"{why} {may} replacement: a new, EMPTY resource is created and {_fate(resource, 'UpdateReplacePolicy')}"


def removal_reason(resource: Optional[Mapping[str, Any]], renamed_to: Optional[str] = None) -> str:
    if renamed_to and _named(resource):
        return (f"renamed to {renamed_to} with the same {_named(resource)}: creating it fails (\"already exists\") "
                "and the stack rolls back")
    head = f"renamed to {renamed_to} (a new, empty resource)" if renamed_to else "removed from the template"
    return f"{head}: {_fate(resource, 'DeletionPolicy')}"


# --- Offline: two templates ----------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """CloudFormation passes scalars as strings: 5432 == "5432", true == "true"; key order never matters."""
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return str(value).lower() if isinstance(value, bool) else str(value) if isinstance(value, (int, float)) else value


def _at(properties: Mapping[str, Any], pointer: str) -> Any:
    value: Any = properties
    for part in pointer.removeprefix("/properties/").split("/"):
        if part == "*":
            break
        value = value.get(part) if isinstance(value, Mapping) else None
    return _canonical(value)


def _show(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)


def policy_violations(logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Violation]:
    found = []
    for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
        before, after = policy(old, attribute), policy(new, attribute)
        if before in PROTECTIVE and after not in PROTECTIVE:
            found.append(Violation(logical_id, str(new["Type"]),
                                   f"{attribute} weakened from {before} to {after}: a later replacement or removal "
                                   "would DELETE the data"))
    return found


def compare(old_template: Mapping[str, Any], new_template: Mapping[str, Any]) -> list[Violation]:
    """The violations of deploying ``new_template`` over ``old_template`` (pure: no AWS)."""
    old, new = _resources(old_template), _resources(new_template)
    kinds = stateful_types()
    added = {i: r for i, r in new.items() if i not in old}
    found: list[Violation] = []
    for logical_id, before in old.items():
        kind = str(before["Type"])
        if kind not in kinds:
            continue
        after = new.get(logical_id)
        if after is None:
            found.append(Violation(logical_id, kind, removal_reason(before, _renamed_to(before, added))))
            continue
        if after["Type"] != kind:
            found.append(Violation(logical_id, kind, replacement_reason(before, f"type changed to {after['Type']}:")))
            continue
        old_props, new_props = before.get("Properties") or {}, after.get("Properties") or {}
        facts = schema(kind)
        for key, conditional in (("createOnlyProperties", False), ("conditionalCreateOnlyProperties", True)):
            for pointer in facts.get(key, []):
                a, b = _at(old_props, pointer), _at(new_props, pointer)
                if a != b:
                    why = f"{pointer.removeprefix('/properties/')} {_show(a)} -> {_show(b)}"
                    found.append(Violation(logical_id, kind, replacement_reason(after, why, conditional)))
        if after.get("Condition") is not None and after.get("Condition") != before.get("Condition"):
            found.append(Violation(logical_id, kind, f"now exists only while condition {after['Condition']} is "
                                                     "true: CloudFormation deletes it when it is false"))
        found.extend(policy_violations(logical_id, before, after))
    return found


def _renamed_to(old: Mapping[str, Any], added: Mapping[str, Any]) -> Optional[str]:
    """The added resource of the same type and the same name: this one under a new logical ID."""
    named = _named(old)
    value = _canonical((old.get("Properties") or {}).get(named)) if named else None
    return next((i for i, r in added.items() if named and r.get("Type") == old.get("Type")
                 and _canonical((r.get("Properties") or {}).get(named)) == value), None)


# --- Authoritative: the change set ---------------------------------------------------------------------------------


def change_violations(changes: Iterable[Mapping[str, Any]], new_template: Optional[Mapping[str, Any]] = None,
                      old_template: Optional[Mapping[str, Any]] = None) -> list[Violation]:
    """The violations among ``DescribeChangeSet`` ``Changes``; the templates only improve the wording."""
    kinds = stateful_types()
    new = (new_template or {}).get("Resources") or {}
    old = (old_template or {}).get("Resources") or {}
    found = []
    for change in changes:
        rc = change.get("ResourceChange") or {}
        kind, logical_id = str(rc.get("ResourceType")), str(rc.get("LogicalResourceId"))
        if kind not in kinds:
            continue
        action, replacement, policy_action = rc.get("Action"), rc.get("Replacement"), rc.get("PolicyAction")
        resource = new.get(logical_id) or old.get(logical_id)
        if action == "Remove":
            reason = removal_reason(old.get(logical_id) or {"Type": kind, "DeletionPolicy": policy_action})
        elif replacement in ("True", "Conditional"):
            causes = sorted({d.get("Target", {}).get("Name") or d.get("Target", {}).get("Attribute", "?")
                             for d in rc.get("Details", []) if d.get("Target", {}).get("RequiresRecreation") != "Never"})
            why = f"CloudFormation says Replacement {replacement} ({', '.join(c for c in causes if c) or 'see the change set'}):"
            reason = replacement_reason(resource, why, replacement == "Conditional")
        elif policy_action in DELETING:
            reason = f"PolicyAction {policy_action}: CloudFormation DELETES the physical resource and its data"
        else:
            continue
        found.append(Violation(logical_id, kind, reason + (f" [PolicyAction {policy_action}]" if policy_action else "")))
    return found


def describe_change_set(client: Any, stack_name: str, change_set: str) -> Optional[dict[str, Any]]:
    """Every page of ``DescribeChangeSet`` merged, once created; None when there is no such change set."""
    from botocore.exceptions import ClientError, WaiterError
    try:
        client.get_waiter("change_set_create_complete").wait(
            StackName=stack_name, ChangeSetName=change_set, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
    except WaiterError:
        pass  # FAILED or not found: DescribeChangeSet says which
    try:
        pages = list(client.get_paginator("describe_change_set").paginate(StackName=stack_name, ChangeSetName=change_set))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ChangeSetNotFound" or "does not exist" in str(error):
            return None
        raise
    merged = dict(pages[0])
    merged["Changes"] = [c for page in pages for c in page.get("Changes", [])]
    return merged


def guard_change_set(client: Any, stack_name: str, change_set: str, new_template: Optional[Mapping[str, Any]] = None,
                     old_template: Optional[Mapping[str, Any]] = None) -> StackResult:
    described = describe_change_set(client, stack_name, change_set)
    if described is None:
        return StackResult(stack_name, "unchanged", detail=f"no change set {change_set}: nothing to execute")
    status, reason = described.get("Status"), str(described.get("StatusReason", ""))
    if status == "FAILED":
        if any(text in reason for text in NO_CHANGES):
            return StackResult(stack_name, "unchanged", detail="the change set contains no changes")
        return StackResult(stack_name, "error", detail=f"change set {change_set} FAILED: {reason}")
    if status != "CREATE_COMPLETE":  # still being created: its Changes are not complete yet
        return StackResult(stack_name, "error", detail=f"change set {change_set} is {status}, not CREATE_COMPLETE")
    found = change_violations(described["Changes"], new_template, old_template)
    if old_template and new_template:
        old, new = _resources(old_template), _resources(new_template)
        kinds = stateful_types()
        found += [v for i, r in old.items() if r["Type"] in kinds and i in new and new[i]["Type"] == r["Type"]
                  for v in policy_violations(i, r, new[i])]
    return StackResult(stack_name, "checked", tuple(found), f"change set {change_set}, {len(described['Changes'])} change(s)")


# --- Cloud assembly, deployed templates, results -------------------------------------------------------------------


@dataclass(frozen=True)
class StackArtifact:
    artifact_id: str
    stack_name: str
    template: dict[str, Any]
    dependencies: tuple[str, ...]


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GuardInputError(f"cannot read {what} {path}: {' '.join(str(error).split())}") from None


def read_cloud_assembly(cdk_out: str | Path) -> list[StackArtifact]:
    """The stacks of ``cdk_out/manifest.json``, each after the stacks it depends on."""
    directory = Path(cdk_out)
    artifacts = read_json(directory / "manifest.json", "cloud assembly manifest").get("artifacts") or {}
    stacks = {
        artifact_id: StackArtifact(
            artifact_id, a.get("properties", {}).get("stackName") or artifact_id,
            read_json(directory / a["properties"]["templateFile"], f"template of {artifact_id}"),
            tuple(a.get("dependencies", [])),
        )
        for artifact_id, a in artifacts.items() if a.get("type") == "aws:cloudformation:stack"
    }
    if not stacks:
        raise GuardInputError(f"no CloudFormation stack in the cloud assembly {directory}")
    graph = {i: [d for d in stack.dependencies if d in stacks] for i, stack in stacks.items()}
    return [stacks[i] for i in TopologicalSorter(graph).static_order()]


def deployed_template(client: Any, stack_name: str) -> Optional[dict[str, Any]]:
    """The template CloudFormation has for ``stack_name`` (``TemplateStage=Original``); None when not deployed."""
    from botocore.exceptions import ClientError
    try:
        if client.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS":
            return None  # created by a change set that never ran: nothing deployed
        body = client.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    if not isinstance(body, Mapping):  # botocore decodes a JSON template: this one is YAML
        raise GuardInputError(f"the deployed template of {stack_name} is YAML: guard it with --change-set")
    return dict(body)


def guard_assembly(client: Any, cdk_out: str | Path, change_set: Optional[str] = None) -> list[StackResult]:
    """Every stack of the assembly: its change set ``change_set``, or (None) its deployed template compared offline."""
    results = []
    for stack in read_cloud_assembly(cdk_out):
        old = deployed_template(client, stack.stack_name)
        if change_set is not None:
            results.append(guard_change_set(client, stack.stack_name, change_set, stack.template, old))
        elif old is None:
            results.append(StackResult(stack.stack_name, "unchanged", detail="not deployed yet: nothing to lose"))
        else:
            results.append(StackResult(stack.stack_name, "checked", tuple(compare(old, stack.template)), "deployed template"))
    return results


def exit_code(results: Sequence[StackResult], allowed: Iterable[str] = ()) -> int:
    """0 safe, 1 a violation not in ``allowed`` (reviewed logical IDs), 2 a stack could not be verified."""
    if any(r.status == "error" for r in results):
        return 2
    return 1 if any(v.logical_id not in set(allowed) for r in results for v in r.violations) else 0


def render(results: Sequence[StackResult], allowed: Iterable[str] = ()) -> str:
    allowed = set(allowed)
    lines = []
    for r in results:
        verdict = {"checked": f"{len(r.violations)} violation(s)" if r.violations else "safe",
                   "unchanged": "nothing to execute", "error": "NOT VERIFIED"}[r.status]
        lines.append(f"stack {r.name}: {verdict} ({r.detail})" if r.detail else f"stack {r.name}: {verdict}")
        lines += [("  allowed (reviewed): " if v.logical_id in allowed else "  ") + v.line() for v in r.violations]
    code = exit_code(results, allowed)
    lines.append({0: "guard: OK - no stateful resource is deleted or replaced",
                  1: "guard: FAILED - a stateful resource would be deleted or replaced: not executed",
                  2: "guard: FAILED - not every stack could be verified: not executed"}[code])
    return "\n".join(lines) + "\n"
