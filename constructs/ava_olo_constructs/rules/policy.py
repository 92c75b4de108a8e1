"""The values :class:`~ava_olo_constructs.rules.AvaOloChecks` checks against: one team's policy, as parameters.

The defaults are the seed's practices (``ava-olo-best-practices.md``); another team passes its own. Every field is
checked when the props are built, so a bad policy is one line naming the field, not a rule that never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..validation import SECRETS_MANAGER_MAX_ROTATION_DAYS, PropsError
from ._support import daily_minutes

#: Resource types whose loss loses data: their DeletionPolicy and UpdateReplacePolicy must keep it.
STATEFUL_RESOURCE_TYPES = (
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",  # only stand-alone instances: an Aurora cluster member holds no storage of its own
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
    "AWS::ECR::Repository",
    "AWS::Backup::BackupVault",
    "AWS::Neptune::DBCluster",
    "AWS::DocDB::DBCluster",
    "AWS::OpenSearchService::Domain",
)

#: Environment variable names that look like secrets: any ``_``-separated word of the name matches.
SECRET_NAME_PATTERN = r"PASSWORD|PASSWD|PWD|PASSPHRASE|SECRET|TOKEN|KEY|APIKEY|CREDENTIALS?|PRIVATE"
#: ... unless the name ends in one of these words: it then names a reference (``KMS_KEY_ARN``, ``SECRET_NAME``).
REFERENCE_SUFFIXES = ("ARN", "ID", "NAME", "PATH", "FILE", "URL", "REGION", "ALIAS")


@dataclass(frozen=True)
class AvaOloChecksProps:
    """Parameters of :class:`~ava_olo_constructs.rules.AvaOloChecks`; every default is the seed's value.

    :param health_check_interval_seconds: longest allowed target-group health-check interval. Default 30 (seed
        "ECS Deployment Timeline", phase 5: "checks /health every 30 seconds").
    :param healthy_threshold_count: most consecutive successes a target may need. Default 2 ("requires 2
        consecutive successes"): a new task takes traffic within 30 s x 2 = 60 s.
    :param max_deregistration_delay_seconds: longest allowed draining. Default 30 (ELB's own default is 300).
    :param min_healthy_percent: rolling deployments never go below this. Default 100 (old task keeps serving).
    :param max_percent: rolling deployments may start this much. Default 200 (a full set of new tasks).
    :param low_traffic_window: ``(start, end)`` ``HH:MM`` UTC that database backups and maintenance must lie in
        (may wrap past midnight). Default ``("02:00", "04:00")`` (seed "Migration Strategy"). A team in São Paulo
        would pass its own night, e.g. ``("05:00", "07:00")``.
    :param secret_name_pattern: regular expression (case-insensitive) for one ``_``-separated word of an
        environment variable name that marks it as a secret. Default :data:`SECRET_NAME_PATTERN`.
    :param reference_suffixes: last words that mark a name as a reference, not a secret (``DB_SECRET_ARN``).
    :param allowed_plain_environment: names allowed in plain ``Environment`` although they look like secrets.
    :param image_tag_pattern: regular expression an image tag must match (``None``: any tag except ``latest``).
        The seed's release format is ``^v\\d+\\.\\d+\\.\\d+(-[a-z0-9]+)*$``; the app passes its own.
    :param stateful_resource_types: types whose DeletionPolicy and UpdateReplacePolicy must not be ``Delete``.
    :param max_rotation_days: most days a secret's rotation schedule may leave between two rotations. Default
        30 (this project's practice: the seed names no period; Secrets Manager allows 1-1000).
    """

    health_check_interval_seconds: int = 30
    healthy_threshold_count: int = 2
    max_deregistration_delay_seconds: int = 30
    min_healthy_percent: int = 100
    max_percent: int = 200
    low_traffic_window: tuple[str, str] = ("02:00", "04:00")
    secret_name_pattern: str = SECRET_NAME_PATTERN
    reference_suffixes: tuple[str, ...] = REFERENCE_SUFFIXES
    allowed_plain_environment: frozenset[str] = field(default_factory=frozenset)
    image_tag_pattern: Optional[str] = None
    stateful_resource_types: tuple[str, ...] = STATEFUL_RESOURCE_TYPES
    max_rotation_days: int = 30

    def __post_init__(self) -> None:
        for name, low, high in (
            ("health_check_interval_seconds", 5, 300),  # ELB's own range
            ("healthy_threshold_count", 2, 10),
            ("max_deregistration_delay_seconds", 0, 3600),
            ("min_healthy_percent", 0, 100),
            ("max_percent", 100, 200),
            ("max_rotation_days", 1, SECRETS_MANAGER_MAX_ROTATION_DAYS),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise PropsError(name, value, f"a whole number from {low} to {high}")
        window = self.low_traffic_window
        if (
            not isinstance(window, (tuple, list))
            or len(window) != 2
            or daily_minutes(f"{window[0]}-{window[1]}") is None
            or window[0] == window[1]
        ):
            raise PropsError("low_traffic_window", window, "two different HH:MM UTC times, e.g. ('02:00', '04:00')")
        for name in ("secret_name_pattern", "image_tag_pattern"):
            pattern = getattr(self, name)
            if pattern is None and name == "image_tag_pattern":
                continue
            try:
                re.compile(pattern)
            except (re.error, TypeError) as error:
                raise PropsError(name, pattern, f"a regular expression ({error})") from None

    @property
    def window_minutes(self) -> frozenset[int]:
        return daily_minutes(f"{self.low_traffic_window[0]}-{self.low_traffic_window[1]}")  # type: ignore[return-value]

    @property
    def window_text(self) -> str:
        return f"{self.low_traffic_window[0]}-{self.low_traffic_window[1]} UTC"
