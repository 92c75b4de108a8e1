"""The tags every AVA OLO resource carries: Project, Environment, Service, Version (+ any extra ones).

Tags are how cost reports, the seed's runbook queries and incident reviews find "everything of
monitoring-dashboards v3.2.0 in production" across services, without knowing physical names.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

from aws_cdk import Tags
from constructs import IConstruct

from .validation import PropsError

_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


def check_tags(tags: Mapping[str, str], field: str = "tags") -> None:
    for key, value in tags.items():
        if not isinstance(key, str) or not _TAG_KEY.fullmatch(key) or key.lower().startswith("aws:"):
            raise PropsError(f"{field}", key, "tag keys are 1-128 letters, digits, spaces and _.:/=+-@, not aws:*")
        if not isinstance(value, str) or not _TAG_VALUE.fullmatch(value):
            raise PropsError(f"{field}.{key}", value, "tag values are 0-256 letters, digits, spaces and _.:/=+-@")


def standard_tags(
    *, project: str, environment: str, service: str, version: str, extra: Optional[Mapping[str, str]] = None
) -> dict[str, str]:
    """The tag set: ``extra`` plus the four standard tags (which win over ``extra``), validated."""
    standard = {"Project": project, "Environment": environment, "Service": service, "Version": version}
    extra = dict(extra or {})
    check_tags(extra)
    check_tags(standard)
    return {**extra, **standard}


def apply_standard_tags(
    scope: IConstruct,
    *,
    project: str,
    environment: str,
    service: str,
    version: str,
    extra: Optional[Mapping[str, str]] = None,
) -> None:
    """Tag every taggable resource below ``scope`` in the template. (With the ``explicitStackTags`` feature flag a
    stack's own tags come only from its ``tags`` prop: pass :func:`standard_tags` there too.)"""
    tags = standard_tags(project=project, environment=environment, service=service, version=version, extra=extra)
    for key, value in tags.items():
        Tags.of(scope).add(key, value)
