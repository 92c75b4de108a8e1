"""Up-front validation of construct props.

Every check returns nothing on success and raises :class:`PropsError` with one line that names the field, the
value and what is allowed. Constructs call these before they create any resource (the AWS Solutions Constructs
"validate props up front" pattern), so a caller never sees a jsii stack trace or a failure 15 minutes into a
deploy. The project's configuration layer reuses the same checks so that the rules live in one place.

Numeric props may be tokens (a ``CfnParameter``'s ``value_as_number``, an ``Fn`` expression): a value that
``Token.is_unresolved`` reports is only known at deploy time, so the checks skip it and CloudFormation decides.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

from aws_cdk import Token

#: Valid Fargate task sizes: CPU units -> allowed memory (MiB).
#: Source: "Task CPU and memory" in the Amazon ECS developer guide (Fargate).
FARGATE_CPU_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

#: The retention periods CloudWatch Logs accepts (days). "Never expire" is deliberately absent.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

#: A container image tag as the Docker/OCI reference grammar defines it: a word character, then up to 127 word
#: characters, dots and hyphens. Which tags a team releases under (a version format, no ``latest``) is policy:
#: the rule pack's ``AvaOloChecksProps.image_tag_pattern`` checks it, not the constructs.
#: Secrets Manager's range for a rotation period (``AutomaticallyAfterDays``: 1-1000 days).
SECRETS_MANAGER_MAX_ROTATION_DAYS = 1000
IMAGE_TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

#: Lower-case DNS-style names (ECS, log groups and ALB names all accept these): starts with a letter, letters,
#: digits and single hyphens, no trailing hyphen.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class PropsError(ValueError):
    """Invalid input, reported as one line: ``<field>: <value> is not allowed; <what is allowed>``."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {value!r} is not allowed; {allowed}")


def is_token(value: Any) -> bool:
    """True for a value only known at deploy time (a token); such values are not checked at synth.

    CDK encodes a token in the value itself (a marker in a string, a reserved bit pattern in a number), so
    ``Token.is_unresolved`` of a given string or number never changes: the answer is remembered per value
    instead of asking the jsii runtime again (each question is a round trip to Node)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    return _encodes_token(type(value), value)


@lru_cache(maxsize=4096)
def _encodes_token(_kind: type, value: int | float | str) -> bool:
    return Token.is_unresolved(value)


def check_fargate_size(cpu: int, memory: int, *, cpu_field: str = "cpu", memory_field: str = "memory") -> None:
    """Reject CPU/memory pairs Fargate cannot run (ECS would fail the deploy, not the synth)."""
    if is_token(cpu):
        return
    if not _is_int(cpu) or cpu not in FARGATE_CPU_MEMORY:
        raise PropsError(cpu_field, cpu, f"Fargate CPU units are one of {sorted(FARGATE_CPU_MEMORY)}")
    allowed = FARGATE_CPU_MEMORY[cpu]
    if is_token(memory):
        return
    if not _is_int(memory) or memory not in allowed:
        raise PropsError(
            memory_field,
            memory,
            f"with {cpu_field} {cpu} Fargate allows {allowed[0]}-{allowed[-1]} MiB "
            f"({', '.join(str(m) for m in allowed)})",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_port(field: str, port: Any) -> None:
    if is_token(port):
        return
    if not _is_int(port) or not 1 <= port <= 65535:
        raise PropsError(field, port, "a TCP port is a whole number from 1 to 65535")


def check_name(field: str, name: Any, *, max_length: int = 32) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > max_length:
        raise PropsError(
            field,
            name,
            f"use lower-case letters, digits and single hyphens, starting with a letter, at most {max_length} characters",
        )


def check_version(field: str, version: Any) -> None:
    """A version is an image tag: refuse only what a container registry refuses (an empty or malformed tag)."""
    if not isinstance(version, str) or not IMAGE_TAG_PATTERN.fullmatch(version):
        raise PropsError(
            field,
            version,
            "a container image tag: 1-128 letters, digits, _ . and -, not starting with . or -",
        )


def check_log_retention(field: str, days: Any) -> None:
    if is_token(days):
        return
    if not _is_int(days) or days not in LOG_RETENTION_DAYS:
        raise PropsError(field, days, f"CloudWatch Logs retention in days, one of {list(LOG_RETENTION_DAYS)}")


def check_range(field: str, value: Any, low: int, high: int, why: str = "") -> None:
    if is_token(value) or is_token(low) or is_token(high):
        return
    if not _is_int(value) or not low <= value <= high:
        suffix = f" ({why})" if why else ""
        raise PropsError(field, value, f"a whole number from {low} to {high}{suffix}")


def check_task_counts(min_count: int, desired_count: int, max_count: int, *, prefix: str = "") -> None:
    check_range(f"{prefix}min_count", min_count, 1, 1000, "at least one task keeps the service up")
    check_range(f"{prefix}max_count", max_count, 1, 1000)
    check_range(f"{prefix}desired_count", desired_count, 1, 1000)
    if any(is_token(count) for count in (min_count, desired_count, max_count)):
        return  # the order of deploy-time values is CloudFormation's to check
    if not min_count <= desired_count <= max_count:
        raise PropsError(
            f"{prefix}desired_count",
            desired_count,
            f"must lie between min_count {min_count} and max_count {max_count}",
        )


def check_availability_zones(field: str, zones: Iterable[str], region: str | None) -> None:
    zones = list(zones)
    if not all(isinstance(zone, str) for zone in zones):
        raise PropsError(field, zones, "a list of availability zone names such as eu-central-1a")
    if len(zones) < 2 or len(set(zones)) != len(zones):
        raise PropsError(field, zones, "at least two distinct availability zones (an ALB needs two)")
    for zone in zones:
        if not isinstance(zone, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", zone):
            raise PropsError(field, zone, "availability zone names look like eu-central-1a")
        if region and not zone.startswith(region):
            raise PropsError(field, zone, f"availability zones must be in region {region}")
