"""Alarms, notifications, dashboard, autoscaling and alarm-based rollback. Seed: "Monitoring and Alerting",
"Monitoring Commands", "Troubleshooting Guide", "Issue 3: Memory/CPU Issues", "What NOT to Do" #1."""

from __future__ import annotations

import json

from ava_olo_constructs.log_filter_pattern import DB_CONNECTION_FAILURE_PATTERN, matches
from tests.conftest import only


def _alarms(env) -> dict[str, dict]:
    return {a["Properties"]["AlarmName"]: a["Properties"] for a in env.service.find_resources("AWS::CloudWatch::Alarm").values()}


def _topic_id(env) -> str:
    return next(iter(env.service.find_resources("AWS::SNS::Topic")))


def test_high_error_rate_alarm_is_5xx_share_over_5_percent_in_5_minutes(production):
    alarm = _alarms(production)["ava-olo-high-error-rate"]
    assert alarm["Threshold"] == 5 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
    assert alarm["TreatMissingData"] == "notBreaching", "no traffic is not an error"
    expression = next(m for m in alarm["Metrics"] if "Expression" in m)
    assert expression["ReturnData"] is not False
    assert "FILL(requests, 0)" in expression["Expression"] and "100 *" in expression["Expression"]
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert {k: v["Metric"]["MetricName"] for k, v in stats.items()} == {
        "requests": "RequestCount",
        "target5xx": "HTTPCode_Target_5XX_Count",
        "elb5xx": "HTTPCode_ELB_5XX_Count",
    }
    assert all(v["Period"] == 300 and v["Stat"] == "Sum" and v["Metric"]["Namespace"] == "AWS/ApplicationELB" for v in stats.values())


def test_db_connection_failures_alarm_counts_logged_failures_over_10_in_5_minutes(production):
    alarm = _alarms(production)["ava-olo-db-connection-failures"]
    assert alarm["MetricName"] == "DatabaseConnectionErrors"
    assert alarm["Namespace"] == "ava-olo/production/monitoring-dashboards"
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 10)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["TreatMissingData"] == "notBreaching"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)


def test_db_connection_metric_filter_reads_the_service_log_group_with_the_tested_pattern(production):
    metric_filter = only(production.service.find_resources("AWS::Logs::MetricFilter"))["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "WebServiceLogGroup6F16EA2A"}
    assert metric_filter["FilterPattern"] == DB_CONNECTION_FAILURE_PATTERN
    transformation = metric_filter["MetricTransformations"][0]
    assert transformation["MetricName"] == "DatabaseConnectionErrors" and transformation["MetricValue"] == "1"
    pattern = metric_filter["FilterPattern"]
    assert matches(pattern, 'psycopg2.OperationalError: could not connect to server: Connection refused')
    assert not matches(pattern, '{"status": "healthy", "database": "connected"}')


def test_the_rest_of_the_alarms_exist_with_their_thresholds(production):
    alarms = _alarms(production)
    expected = {
        "ava-olo-unhealthy-targets": ("UnHealthyHostCount", 0, "GreaterThanThreshold"),
        "ava-olo-slow-responses": ("TargetResponseTime", 2, "GreaterThanThreshold"),
        "ava-olo-high-cpu": ("CPUUtilization", 80, "GreaterThanThreshold"),
        "ava-olo-high-memory": ("MemoryUtilization", 80, "GreaterThanThreshold"),
        "ava-olo-db-high-cpu": ("CPUUtilization", 80, "GreaterThanThreshold"),
        "ava-olo-db-low-local-storage": ("FreeLocalStorage", 2 * 1024**3, "LessThanThreshold"),
    }
    for name, (metric, threshold, operator) in expected.items():
        alarm = alarms[name]
        # a single metric, or (target groups ECS swaps) the larger of the two groups' values of that metric
        metrics = {alarm["MetricName"]} if "MetricName" in alarm else {q["MetricStat"]["Metric"]["MetricName"] for q in alarm["Metrics"] if "MetricStat" in q}
        assert (metrics, alarm["Threshold"], alarm["ComparisonOperator"]) == ({metric}, threshold, operator), name
        assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"] >= 1, name
    slow = alarms["ava-olo-slow-responses"]
    assert slow.get("ExtendedStatistic") == "p95" or {q["MetricStat"]["Stat"] for q in slow["Metrics"] if "MetricStat" in q} == {"p95"}
    assert "desired - running" in json.dumps(alarms["ava-olo-tasks-below-desired"]["Metrics"])
    # r6g.large: 16 GiB -> max_connections 1622 -> alarm at 80 % = 1297; freeable memory below 10 % of 16 GiB
    assert alarms["ava-olo-db-connections-near-limit"]["Threshold"] == 1297
    assert alarms["ava-olo-db-low-memory"]["Threshold"] == int(16 * 1024**3 * 0.1)


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(each_environment):
    topic = {"Ref": _topic_id(each_environment)}
    alarms = _alarms(each_environment)
    # the local-storage alarm exists for provisioned instances only (Serverless v2 storage scales with capacity)
    assert len(alarms) == (13 if each_environment.config.database.instance_class else 12)
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic], name


def test_alarm_names_are_the_seeds_in_production_and_qualified_elsewhere(project):
    assert "ava-olo-high-error-rate" in _alarms(project.environments["production"])
    names = [set(_alarms(env)) for env in project.environments.values()]
    assert sum(len(n) for n in names) == len(set().union(*names)), "alarm names collide between environments"
    assert "ava-olo-dev-monitoring-dashboards-high-error-rate" in _alarms(project.environments["dev"])


def test_alarm_topic_is_encrypted_tls_only_and_mails_the_configured_addresses(each_environment):
    template = each_environment.service
    topic = only(template.find_resources("AWS::SNS::Topic"))["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template.find_resources("AWS::KMS::Key")[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert "cloudwatch.amazonaws.com" in json.dumps(key["KeyPolicy"])
    policy = only(template.find_resources("AWS::SNS::TopicPolicy"))["Properties"]["PolicyDocument"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy["Statement"])
    emails = sorted(s["Properties"]["Endpoint"] for s in template.find_resources("AWS::SNS::Subscription").values())
    assert emails == sorted(each_environment.config.alarm_emails)


def _deployment_alarms(env) -> dict[str, dict]:
    deployment = only(env.service.find_resources("AWS::ECS::Service"))["Properties"]["DeploymentConfiguration"]
    return {name: _alarms(env)[name] for name in deployment["Alarms"]["AlarmNames"]}


def _alarm_period(alarm: dict) -> int:
    """The period of the alarm's metric: the single metric's, or that of the metric math's returned expression."""
    if "Period" in alarm:
        return alarm["Period"]
    periods = {query["Period"] for query in alarm["Metrics"] if query.get("ReturnData", True) and "Period" in query}
    periods |= {query["MetricStat"]["Period"] for query in alarm["Metrics"] if "MetricStat" in query}
    assert len(periods) == 1, alarm["AlarmName"]
    return periods.pop()


def test_deployment_alarms_roll_back_on_the_new_revisions_errors_and_unhealthy_targets(each_environment):
    service = only(each_environment.service.find_resources("AWS::ECS::Service"))
    deployment = service["Properties"]["DeploymentConfiguration"]
    alarms = deployment["Alarms"]
    assert alarms["Enable"] is True and alarms["Rollback"] is True
    assert len(alarms["AlarmNames"]) == 2
    assert any(n.endswith("-new-revision-errors") for n in alarms["AlarmNames"])
    assert any(n.endswith("-new-revision-unhealthy") for n in alarms["AlarmNames"])
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    alarm_ids = {k for k, a in each_environment.service.find_resources("AWS::CloudWatch::Alarm").items() if a["Properties"]["AlarmName"] in alarms["AlarmNames"]}
    assert len(alarm_ids) == 2 and alarm_ids <= set(service["DependsOn"]), "the alarms must exist before ECS references them"


def test_every_deployment_alarm_decides_within_120_seconds_at_60_second_periods(each_environment):
    for name, alarm in _deployment_alarms(each_environment).items():
        assert _alarm_period(alarm) == 60, name
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 1, name
        assert _alarm_period(alarm) * alarm["EvaluationPeriods"] <= 120, name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_deployment_alarms_watch_both_target_groups_and_pick_the_new_revision(production):
    groups = set(production.service.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup"))
    assert len(groups) == 2
    for name, alarm in _deployment_alarms(production).items():
        body = json.dumps(alarm["Metrics"])
        assert all(group in body for group in groups), name
        # the smaller non-zero share of requests is the new revision (test traffic, the canary)
        assert "IF(FILL(reqA, 0) > 0 AND FILL(reqB, 0) > 0, IF(FILL(reqA, 0) <= FILL(reqB, 0)" in body, name
    errors = next(a for n, a in _deployment_alarms(production).items() if n.endswith("errors"))
    returned = [q for q in errors["Metrics"] if q.get("ReturnData", True)]
    assert returned[0]["Expression"] == "IF(errors >= 5, 100 * errors / requests, 0)"
    assert errors["Threshold"] == 10


def test_target_group_alarms_watch_both_target_groups_that_ecs_swaps(production):
    groups = set(production.service.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup"))
    for name in ("ava-olo-unhealthy-targets", "ava-olo-slow-responses"):
        body = json.dumps(_alarms(production)[name]["Metrics"])
        assert "MAX([FILL(a, 0), FILL(b, 0)])" in body and all(group in body for group in groups), name


def test_seed_alarms_stay_but_are_not_deployment_alarms(production):
    names = set(_deployment_alarms(production))
    assert "ava-olo-high-error-rate" not in names and "ava-olo-unhealthy-targets" not in names
    assert {"ava-olo-high-error-rate", "ava-olo-unhealthy-targets"} <= set(_alarms(production))


def test_autoscaling_tracks_cpu_and_requests_between_configured_bounds(each_environment):
    template = each_environment.service
    target = only(template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget"))["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (each_environment.config.min_count, each_environment.config.max_count)
    policies = [p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()]
    assert len(policies) == 2
    cpu = [p for p in policies if p.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType") == "ECSServiceAverageCPUUtilization"]
    assert len(cpu) == 1 and cpu[0]["TargetValue"] == 60
    (requests,) = [p for p in policies if p not in cpu]
    assert requests["TargetValue"] == each_environment.config.scaling_requests_per_target
    if each_environment.config.deployment.strategy == "rolling":
        assert requests["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    else:  # the serving target group changes at every deployment: requests per healthy task over both
        groups = set(template.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup"))
        body = json.dumps(requests["CustomizedMetricSpecification"])
        assert all(group in body for group in groups) and "HealthyHostCount" in body
    for policy in policies:
        assert (policy["ScaleOutCooldown"], policy["ScaleInCooldown"]) == (60, 300)


def test_no_desired_count_in_the_template_once_autoscaling_manages_it(each_environment):
    service = only(each_environment.service.find_resources("AWS::ECS::Service"))["Properties"]
    target = only(each_environment.service.find_resources("AWS::ApplicationAutoScaling::ScalableTarget"))["Properties"]
    assert "DesiredCount" not in service
    # The first create starts CloudFormation's default of 1 task; registering the scalable target moves the count
    # into [MinCapacity, MaxCapacity] at once, so the service starts with min_count (= desired_count here).
    assert target["MinCapacity"] == each_environment.config.min_count >= 1


def test_autoscaling_maximum_is_the_number_the_connection_budget_was_checked_against(each_environment):
    config = each_environment.config
    target = only(each_environment.service.find_resources("AWS::ApplicationAutoScaling::ScalableTarget"))["Properties"]
    needed = target["MaxCapacity"] * (config.db_pool_size + config.db_max_overflow) + config.database.connection_reserve
    assert needed <= each_environment.stacks.data.database.max_connections


def test_dashboard_shows_tasks_resources_traffic_errors_latency_database_and_alarms(production):
    dashboard = only(production.service.find_resources("AWS::CloudWatch::Dashboard"))["Properties"]
    assert dashboard["DashboardName"] == "ava-olo-production-monitoring-dashboards"
    body = json.dumps(dashboard["DashboardBody"])
    for needle in ("RunningTaskCount", "DesiredTaskCount", "CPUUtilization", "MemoryUtilization", "RequestCount",
                   "5xx error rate", "p95", "DatabaseConnections", "DatabaseConnectionErrors", "alarm",
                   "aws logs tail /ecs/monitoring-dashboards"):
        assert needle in body, needle
