"""A regional WAFv2 web ACL in front of the load balancer: managed rule groups and the seed's rate limits.

See :mod:`waf_defaults` for how the seed's Flask-Limiter limits map onto WAF's rate-based rules (and what
cannot be mapped). Requests are counted per client IP. Every rule publishes CloudWatch metrics and sampled
requests, and the web ACL logs to an encrypted ``aws-waf-logs-*`` log group with a retention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from . import waf_defaults as defaults
from .retention import retention_days
from .validation import PropsError, check_log_retention, check_name, check_range


@dataclass(frozen=True)
class RateLimit:
    """Block a client IP that sends more than ``limit`` requests within ``window_seconds`` to paths starting
    with ``path_prefix`` (None: every path)."""

    name: str
    limit: int
    window_seconds: int
    path_prefix: Optional[str] = None

    def validate(self, field_prefix: str = "rate_limits") -> None:
        check_name(f"{field_prefix}.name", self.name, max_length=128)
        check_range(
            f"{field_prefix}.{self.name}.limit",
            self.limit,
            defaults.MIN_RATE_LIMIT,
            defaults.MAX_RATE_LIMIT,
            "WAF's rate-based rule limits",
        )
        if self.window_seconds not in defaults.EVALUATION_WINDOWS:
            raise PropsError(
                f"{field_prefix}.{self.name}.window_seconds",
                self.window_seconds,
                f"one of WAF's evaluation windows {list(defaults.EVALUATION_WINDOWS)} seconds",
            )
        if self.path_prefix is not None and (
            not isinstance(self.path_prefix, str) or not re.fullmatch(r"/[A-Za-z0-9_\-./]*", self.path_prefix)
        ):
            raise PropsError(f"{field_prefix}.{self.name}.path_prefix", self.path_prefix, "a URL path such as /api/farmers")


DEFAULT_RATE_LIMITS = tuple(
    RateLimit(name=name, path_prefix=path, limit=limit, window_seconds=window)
    for name, path, limit, window in defaults.RATE_LIMITS
)


@dataclass(frozen=True)
class WebApplicationFirewallProps:
    """:param name: web ACL name, e.g. ``ava-olo-production-monitoring-dashboards``.
    :param resource_arn: what to protect (the ALB's ARN).
    :param rate_limits: Default the seed's (:data:`DEFAULT_RATE_LIMITS`).
    :param managed_rule_groups: AWS managed groups. Default :data:`waf_defaults.MANAGED_RULE_GROUPS`.
    :param log_retention_days: Default 90. :param log_encryption_key: KMS key of the log group (it must allow
        CloudWatch Logs, see :mod:`log_encryption`). :param log_removal_policy: Default RETAIN_ON_UPDATE_OR_DELETE
        (``RetainExceptOnCreate``): the log group has a fixed name (``aws-waf-logs-...``), so a failed first create
        must remove it or the retry fails with "already exists"; once created it is kept."""

    name: str
    resource_arn: str
    log_encryption_key: kms.IKey
    rate_limits: Sequence[RateLimit] = DEFAULT_RATE_LIMITS
    managed_rule_groups: Sequence[str] = field(default_factory=lambda: defaults.MANAGED_RULE_GROUPS)
    log_retention_days: int = defaults.LOG_RETENTION_DAYS
    log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE

    def validate(self) -> None:
        check_name("name", self.name, max_length=128 - len("aws-waf-logs-"))
        names = [limit.name for limit in self.rate_limits]
        if len(set(names)) != len(names):
            raise PropsError("rate_limits", names, "rule names must be unique")
        for limit in self.rate_limits:
            limit.validate()
        check_log_retention("log_retention_days", self.log_retention_days)


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _rate_rule(limit: RateLimit, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    scope_down = None
    if limit.path_prefix:
        scope_down = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="STARTS_WITH",
                search_string=limit.path_prefix.lower(),
                # /API/Farmers must not escape the /api/farmers limit.
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
            )
        )
    return wafv2.CfnWebACL.RuleProperty(
        name=limit.name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=limit.limit,
                evaluation_window_sec=limit.window_seconds,
                aggregate_key_type="IP",
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(limit.name),
    )


def _managed_rule(group: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=group,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=group)
        ),
        visibility_config=_visibility(group),
    )


class WebApplicationFirewall(Construct):
    """Attributes: ``web_acl``, ``log_group``."""

    def __init__(self, scope: Construct, construct_id: str, props: WebApplicationFirewallProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        rules = [_rate_rule(limit, priority) for priority, limit in enumerate(props.rate_limits)]
        first_managed = len(rules)
        rules += [_managed_rule(group, first_managed + i) for i, group in enumerate(props.managed_rule_groups)]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=props.name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(props.name),
            rules=rules,
        )
        wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=props.resource_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"aws-waf-logs-{props.name}",  # WAF requires this prefix
            retention=retention_days(props.log_retention_days),
            encryption_key=props.log_encryption_key,
            removal_policy=props.log_removal_policy,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            # WAF wants the log group's ARN without the ":*" that Fn::GetAtt adds.
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self.log_group.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
