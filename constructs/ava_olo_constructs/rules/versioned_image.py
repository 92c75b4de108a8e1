"""AvaOlo-VersionedImage: every container image names a version (a tag other than ``latest``, or a digest).

An untagged reference means ``latest``: two tasks of one service may then run different code, and a rollback
cannot name what to go back to. With ``image_tag_pattern`` (e.g. the seed's ``vMAJOR.MINOR.PATCH[-words]``) the
tag must also match it; a CDK asset's content hash (64 hex digits) and a ``@sha256:`` digest are always versions.
"""

from __future__ import annotations

import re

from ._support import COMPLIANT, NagRule, Resource, Result, Unresolved

HASH = re.compile(r"^[0-9a-f]{64}$")
HOLE = "\0"  # stands for an intrinsic function inside Fn::Join


def literal_tail(image) -> str:
    """The image reference as text, intrinsic functions replaced by :data:`HOLE`."""
    if isinstance(image, str):
        return image
    if isinstance(image, dict) and set(image) == {"Fn::Join"}:
        delimiter, parts = image["Fn::Join"]
        return delimiter.join(literal_tail(part) for part in parts)
    return HOLE


def tag_of(resource: Resource, image) -> tuple[str, str]:
    """``("tag", value)``, ``("digest", value)`` or ``("none", "")`` for the reference's last path segment."""
    text = literal_tail(image)
    last = text.rsplit("/", 1)[-1]
    if "@" in last:
        name, digest = last.split("@", 1)
        if HOLE in digest:
            raise Unresolved(f"{resource.path}: the image digest is an intrinsic function")
        return "digest", digest
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        if HOLE in tag:
            raise Unresolved(f"{resource.path}: the image tag is an intrinsic function ({image})")
        return "tag", tag
    if HOLE in last:
        raise Unresolved(f"{resource.path}: the image reference ends in an intrinsic function ({image})")
    return "none", ""


def check(resource: Resource, policy) -> Result:
    findings = []
    for container in resource.get("ContainerDefinitions", default=[]) or []:
        kind, value = tag_of(resource, container.get("Image"))
        name = container.get("Name")
        if kind == "digest":
            continue
        if kind == "none" or value == "latest":
            findings.append(f"{name}:{value or 'untagged'}")
        elif policy.image_tag_pattern and not HASH.match(value) and not re.fullmatch(policy.image_tag_pattern, value):
            findings.append(f"{name}:{value}")
    return findings or COMPLIANT


RULE = NagRule(
    id="VersionedImage",
    resource_types=("AWS::ECS::TaskDefinition",),
    info="A container image has no tag, the tag 'latest', or a tag that does not match the policy's version "
    "pattern.",
    explanation="Every task of a release must run the same, nameable code: a version tag (or digest) is what a "
    "deployment, a rollback and an incident report refer to.",
    check=check,
)
