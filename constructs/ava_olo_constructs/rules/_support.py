"""What every rule of :class:`~ava_olo_constructs.rules.AvaOloChecks` shares: a resolved, CloudFormation-shaped
view of one ``CfnResource``, the rule record, and the small parsers several rules need.

Rules read the resource's L1 properties in CloudFormation's own spelling (``HealthCheckPath``, not
``health_check_path``), resolved the way the template will render them, so they apply to any CDK app: L2
constructs, hand-written L1s and plain ``CfnResource`` objects alike. (Raw ``add_property_override`` values are
not visible to rules; cdk-nag's own rules share that limit.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Optional, Union

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

Result = Union[NagRuleCompliance, list]

COMPLIANT = NagRuleCompliance.COMPLIANT
NON_COMPLIANT = NagRuleCompliance.NON_COMPLIANT
NOT_APPLICABLE = NagRuleCompliance.NOT_APPLICABLE


class Unresolved(ValueError):
    """A value the rule must know is an intrinsic function (e.g. a ``CfnParameter``): cdk-nag reports the rule
    as failed with "Rule threw an error", which can be acknowledged like any finding."""


class Resource:
    """One CloudFormation resource as the template will render it.

    ``type`` and ``properties`` are read when the resource is made; ``path``, ``deletion_policy`` and
    ``update_replace_policy`` when a rule first asks (each read is a round trip to the jsii runtime, and only the
    stateful-resource rule and error messages need them).
    """

    def __init__(self, node: CfnResource, type: str, properties: dict) -> None:
        self._node = node
        self.type = type
        self.properties = properties

    @classmethod
    def of(cls, node: CfnResource, resource_type: Optional[str] = None) -> "Resource":
        """``resource_type``: the node's ``cfn_resource_type`` if the caller has read it already."""
        resolved = Stack.of(node).resolve(node._cfn_properties)  # camelCase (L1) or as given (CfnResource)
        properties = node._render_properties(resolved) or {}  # -> CloudFormation's spelling
        return cls(node, resource_type or node.cfn_resource_type, dict(properties))

    @cached_property
    def path(self) -> str:
        return self._node.node.path

    @cached_property
    def _options(self) -> Any:
        return self._node.cfn_options

    @cached_property
    def deletion_policy(self) -> Optional[str]:
        """"Delete", "Retain", "RetainExceptOnCreate", "Snapshot" or None (unset)."""
        return _policy(self._options.deletion_policy)

    @cached_property
    def update_replace_policy(self) -> Optional[str]:
        return _policy(self._options.update_replace_policy)

    def get(self, *keys: str, default: Any = None) -> Any:
        """``resource.get("DeploymentConfiguration", "Alarms", "Enable")``: nested lookup, ``default`` if absent."""
        value: Any = self.properties
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        return value


_POLICY_NAMES = {"DELETE": "Delete", "RETAIN": "Retain", "RETAIN_EXCEPT_ON_CREATE": "RetainExceptOnCreate", "SNAPSHOT": "Snapshot"}


def _policy(value: Any) -> Optional[str]:
    """CloudFormation's spelling (``Retain``) of a ``CfnDeletionPolicy``; ``None`` if unset (= ``Delete``)."""
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    return _POLICY_NAMES.get(text.upper(), text)


@dataclass(frozen=True)
class NagRule:
    """One rule: its id suffix (``AvaOlo-<id>``), the resource types it reads, and its check.

    ``check(resource, policy)`` returns ``COMPLIANT``/``NON_COMPLIANT``/``NOT_APPLICABLE`` or a list of findings
    (each becomes ``AvaOlo-<id>[<finding>]``, acknowledgeable one by one).
    """

    id: str
    resource_types: tuple[str, ...]
    info: str
    explanation: str
    check: Callable[[Resource, Any], Result]


def known(resource: Resource, value: Any, what: str) -> Any:
    """``value`` if it is a plain value, else :class:`Unresolved` naming ``what``."""
    if isinstance(value, dict) and any(k == "Ref" or k.startswith("Fn::") for k in value):
        raise Unresolved(f"{resource.path}: {what} is an intrinsic function ({value}); the rule needs its value")
    return value


def as_int(resource: Resource, value: Any, what: str) -> Optional[int]:
    value = known(resource, value, what)
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        raise Unresolved(f"{resource.path}: {what} {value!r} is not a number") from None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- Time windows ---------------------------------------------------------------------------------------------
_CLOCK = r"([01]\d|2[0-3]):([0-5]\d)"
DAILY = re.compile(rf"^{_CLOCK}-{_CLOCK}$")
WEEKLY = re.compile(rf"^(mon|tue|wed|thu|fri|sat|sun):{_CLOCK}-(mon|tue|wed|thu|fri|sat|sun):{_CLOCK}$", re.I)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES


def daily_minutes(window: str) -> Optional[frozenset[int]]:
    """``"02:00-02:30"`` -> the minutes of the day it covers (wrapping past midnight); ``None`` if malformed."""
    match = DAILY.match(window) if isinstance(window, str) else None
    if not match:
        return None
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    length = (end - start) % DAY_MINUTES or DAY_MINUTES
    return frozenset((start + i) % DAY_MINUTES for i in range(length))


def weekly_minutes_of_day(window: str) -> Optional[frozenset[int]]:
    """``"sun:03:00-sun:03:30"`` -> the minutes of the day it covers; ``None`` if malformed."""
    match = WEEKLY.match(window) if isinstance(window, str) else None
    if not match:
        return None
    start = DAYS.index(match[1].lower()) * DAY_MINUTES + int(match[2]) * 60 + int(match[3])
    end = DAYS.index(match[4].lower()) * DAY_MINUTES + int(match[5]) * 60 + int(match[6])
    length = (end - start) % WEEK_MINUTES or WEEK_MINUTES
    return frozenset((start + i) % DAY_MINUTES for i in range(length))
