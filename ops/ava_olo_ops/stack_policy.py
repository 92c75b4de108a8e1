"""The stack policy: CloudFormation itself refuses to replace or delete a stateful resource.

Every stack that holds data (a resource of a type cfn-lint lists as stateful, see :mod:`.stateful_guard`) gets a
policy that allows every update but denies ``Update:Replace`` and ``Update:Delete`` on exactly those resources (by
logical ID: the database cluster, its instances, its secrets, its KMS key, log groups, ...). The deploy path
(``ava-olo deploy``) sets it right after a stack is first created and again before every change set is executed,
from the deployed template *and* the new one, so a resource the new template drops is still protected. A
``cdk deploy`` or console update that skips the guard then fails on the policy instead of losing data.

Lifting it, once and reviewed: see README "Stack policy". ``allow`` leaves named logical IDs out of the deny for
one deploy (``ava-olo deploy --allow-replace ID --override REASON``); the next deploy protects them again.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional

from .stateful_guard import stateful_types


def protected_resources(*templates: Optional[Mapping[str, Any]]) -> list[str]:
    """The logical IDs of the stateful resources of any of ``templates``, sorted."""
    kinds = stateful_types()
    return sorted({
        logical_id
        for template in templates if template
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, Mapping) and resource.get("Type") in kinds
    })


def policy_document(*templates: Optional[Mapping[str, Any]], allow: Iterable[str] = ()) -> Optional[dict[str, Any]]:
    """Allow ``Update:*``; deny ``Update:Replace`` / ``Update:Delete`` on the protected resources (None: none)."""
    allowed = set(allow)
    protected = [i for i in protected_resources(*templates) if i not in allowed]
    if not protected:
        return None
    return {"Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
         "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in protected]},
    ]}


def apply(client: Any, stack_name: str, *templates: Optional[Mapping[str, Any]], allow: Iterable[str] = ()) -> list[str]:
    """``SetStackPolicy`` on ``stack_name``; the logical IDs it protects (nothing is set when it holds no data)."""
    document = policy_document(*templates, allow=allow)
    if document is None:
        return []
    client.set_stack_policy(StackName=stack_name, StackPolicyBody=json.dumps(document))
    return [r.removeprefix("LogicalResourceId/") for r in document["Statement"][1]["Resource"]]
