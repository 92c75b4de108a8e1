"""Edge security and encryption. Seed: "Security Best Practices" (credentials, rate limiting, input
validation), "Data Protection". Issue 5's four checks run over every synthesized template."""

from __future__ import annotations

import json

from tests.conftest import acknowledgements, assembly_metadata, only


def _listeners(env) -> dict[int, dict]:
    return {l["Properties"]["Port"]: l["Properties"] for l in env.service.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()}


def test_production_serves_https_with_a_tls13_policy_and_only_redirects_http(production):
    listeners = _listeners(production)
    test_port = production.config.deployment.strategy != "rolling" and 8443  # the canary's test listener (NAT only)
    assert set(listeners) - {test_port} == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS" and https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert len(https["Certificates"]) == 1
    assert listeners[80]["DefaultActions"] == [
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    ]


def test_production_certificate_arn_is_read_at_deploy_time_not_committed(production):
    https = _listeners(production)[443]
    parameter = https["Certificates"][0]["CertificateArn"]["Ref"]
    declared = production.templates[production.stacks.service.artifact_id]["Parameters"][parameter]
    assert declared["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert declared["Default"] == "/ava-olo/production/certificate-arn"


def test_environments_without_a_certificate_serve_plain_http_only(project):
    for name in ("sandbox", "dev"):
        assert project.environments[name].config.allow_plain_http and not project.environments[name].config.retain_data
        listeners = _listeners(project.environments[name])
        assert set(listeners) == {80} and listeners[80]["Protocol"] == "HTTP"


def test_environments_that_hold_real_data_serve_https_only(project):
    """Issue 11: staging has a real database and ENCRYPTION_KEY, so it serves HTTPS like production; port 80
    only redirects. Its certificate comes from an SSM parameter, as production's does."""
    holding_data = {name for name, env in project.environments.items() if env.config.retain_data}
    assert holding_data >= {"staging", "production"}
    for name in holding_data:
        env = project.environments[name]
        listeners = _listeners(env)
        # 8443: the test listener of a canary deployment (the pre-traffic check), HTTPS like 443.
        assert set(listeners) - {8443} == {80, 443}, name
        assert all(listeners[port]["Protocol"] == "HTTPS" for port in set(listeners) - {80}), name
        assert [a["Type"] for a in listeners[80]["DefaultActions"]] == ["redirect"], name
    staging = project.environments["staging"]
    parameter = _listeners(staging)[443]["Certificates"][0]["CertificateArn"]["Ref"]
    declared = staging.templates[staging.stacks.service.artifact_id]["Parameters"][parameter]
    assert declared["Default"] == "/ava-olo/staging/certificate-arn"


def test_web_acl_has_managed_groups_and_the_seeds_rate_limits_and_protects_the_alb(each_environment):
    template = each_environment.service
    acl = only(template.find_resources("AWS::WAFv2::WebACL"))
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in props["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]}
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    rates = {r["Name"]: r["Statement"]["RateBasedStatement"] for r in props["Rules"] if "RateBasedStatement" in r["Statement"]}
    farmers = rates["api-farmers-per-minute"]
    assert (farmers["Limit"], farmers["EvaluationWindowSec"], farmers["AggregateKeyType"]) == (10, 60, "IP")
    match = farmers["ScopeDownStatement"]["ByteMatchStatement"]
    assert (match["SearchString"], match["PositionalConstraint"], match["FieldToMatch"]) == ("/api/farmers", "STARTS_WITH", {"UriPath": {}})
    ceiling = rates["api-hourly-ceiling"]
    assert (ceiling["Limit"], ceiling["EvaluationWindowSec"]) == (100, 600)
    assert all(r["Action"] == {"Block": {}} for r in props["Rules"] if r["Name"] in rates)
    association = only(template.find_resources("AWS::WAFv2::WebACLAssociation"))["Properties"]
    alb_id = next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")))
    acl_id = next(iter(template.find_resources("AWS::WAFv2::WebACL")))
    assert association == {"ResourceArn": {"Ref": alb_id}, "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}}


def test_waf_logs_to_an_encrypted_log_group_with_retention(each_environment):
    template = each_environment.service
    logging = only(template.find_resources("AWS::WAFv2::LoggingConfiguration"))["Properties"]
    destination = json.dumps(logging["LogDestinationConfigs"])
    groups = {k: g["Properties"] for k, g in template.find_resources("AWS::Logs::LogGroup").items()}
    (logical_id,) = [k for k, g in groups.items() if str(g["LogGroupName"]).startswith("aws-waf-logs-")]
    assert json.dumps({"Ref": logical_id}) in destination and ":*" not in destination
    group = groups[logical_id]
    assert group["RetentionInDays"] == each_environment.config.waf.log_retention_days and "KmsKeyId" in group


def test_every_log_group_secret_and_topic_uses_a_customer_managed_key_with_rotation(each_environment):
    for stack_name, template in each_environment.all_templates().items():
        keys = template.find_resources("AWS::KMS::Key")
        assert keys, stack_name
        assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values()), stack_name
        encrypted = {
            "AWS::Logs::LogGroup": "KmsKeyId",
            "AWS::SecretsManager::Secret": "KmsKeyId",
            "AWS::SNS::Topic": "KmsMasterKeyId",
        }
        for resource_type, key_property in encrypted.items():
            for logical_id, resource in template.find_resources(resource_type).items():
                key = resource["Properties"].get(key_property)
                assert key is not None, f"{stack_name}/{logical_id} is not encrypted with a customer-managed key"
                assert "alias/aws/" not in json.dumps(key), f"{stack_name}/{logical_id} uses an AWS-managed key"


def test_no_ingress_from_anywhere_except_the_load_balancer_on_80_and_443(each_environment):
    for stack_name, template in each_environment.all_templates().items():
        rules = [
            (logical_id, rule)
            for logical_id, sg in template.find_resources("AWS::EC2::SecurityGroup").items()
            for rule in sg["Properties"].get("SecurityGroupIngress", [])
        ] + [(logical_id, r["Properties"]) for logical_id, r in template.find_resources("AWS::EC2::SecurityGroupIngress").items()]
        for logical_id, rule in rules:
            if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                assert "LoadBalancerSecurityGroup" in logical_id, f"{stack_name}/{logical_id}"
                assert (rule["FromPort"], rule["ToPort"]) in ((80, 80), (443, 443)), f"{stack_name}/{logical_id}"


def _wildcards(statement: dict) -> list[str]:
    found = []
    for key in ("Action", "Resource"):
        values = statement.get(key, [])
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and "*" in value:
                found.append(f"{key}::{value}")
    return found


def test_every_iam_wildcard_is_acknowledged_with_a_reason(each_environment):
    for stack in each_environment.stacks.all:
        template = each_environment.template(stack)
        # Logical id -> construct path, as CDK recorded it in the cloud assembly (aws:cdk:logicalId).
        paths = {logical_id: path for path, logical_id in assembly_metadata(stack, "aws:cdk:logicalId")}
        acknowledged = [(path, rule) for path, rule, _ in acknowledgements(stack) if rule.startswith("AwsSolutions-IAM5")]
        checked = 0
        for logical_id, policy in {**template.find_resources("AWS::IAM::Policy"), **template.find_resources("AWS::IAM::ManagedPolicy")}.items():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                for wildcard in _wildcards(statement):
                    checked += 1
                    path = paths[logical_id]
                    assert any(
                        path.startswith(ack_path + "/") and rule in (f"AwsSolutions-IAM5[{wildcard}]", "AwsSolutions-IAM5")
                        for ack_path, rule in acknowledged
                    ), f"{stack.stack_name}/{logical_id}: unacknowledged IAM wildcard {wildcard}"
        if stack is each_environment.stacks.service:
            assert checked >= 1  # ecr:GetAuthorizationToken on "*" is the known one
