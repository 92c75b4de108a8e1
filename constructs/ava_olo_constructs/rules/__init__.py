"""The ``AvaOlo`` cdk-nag rule pack: one rule per module, applicable to any CDK app.

==============================  ==========================================================================
Rule (``AvaOlo-...``)           Practice (policy parameter, default = the seed's value)
==============================  ==========================================================================
TargetGroupHealthCheck          explicit health-check path; interval <= 30 s, healthy threshold <= 2
DeregistrationDelay             draining <= 30 s (``max_deregistration_delay_seconds``)
ServiceDeploymentSafety         rolling 100/200 + circuit breaker with rollback, or CANARY/LINEAR/BLUE_GREEN
                                with alarm rollback
DatabaseWindows                 backup + maintenance windows inside 02:00-04:00 UTC, not overlapping
NoPlainSecretEnvironment        no PASSWORD/SECRET/KEY/TOKEN-like names in a container's plain Environment
VersionedImage                  image tag set, not ``latest`` (optionally matching ``image_tag_pattern``)
LogRetention                    every log group has a retention period
StatefulDeletionPolicy          data-holding resources: DeletionPolicy and UpdateReplacePolicy keep the data
AlarmNotifies                   every CloudWatch alarm has an enabled alarm action
ServiceHealthCheckGracePeriod   a load-balanced ECS service sets a health-check grace period
CredentialsRotation             a secret's rotation schedule leaves at most 30 days between rotations
                                (``max_rotation_days``)
==============================  ==========================================================================
"""

from .pack import PACK_NAME, RULES, AvaOloChecks
from .policy import STATEFUL_RESOURCE_TYPES, AvaOloChecksProps

__all__ = ["PACK_NAME", "RULES", "STATEFUL_RESOURCE_TYPES", "AvaOloChecks", "AvaOloChecksProps"]
