"""`ava-olo deploy` against moto's CloudFormation: it executes exactly the change sets the guard passed.

The boundaries are replaced, nothing else: ``cdk`` (a fake that writes the cloud assembly on synth and, for
``--method=prepare-change-set``, creates the change set in moto as cdk would), the in-process ``ava-olo``
subcommands (preflight, migrate, verify: their own tests cover them) and ``watch.follow_release``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto import mock_aws

from ava_olo_ops import deploy
from ava_olo_ops.cli import build_parser, main
from ava_olo_ops.target import from_args

from .aws import client

DATA, SERVICE = "ava-olo-staging-data", "ava-olo-staging-service"


def data_template(retention: int = 30, with_logs: bool = True) -> dict:
    resources = {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/ava-olo/staging/data", "Type": "String", "Value": "1"}}}
    if with_logs:
        resources["AuditLogs"] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                                  "Properties": {"LogGroupName": "audit", "RetentionInDays": retention}}
    return {"Resources": resources}


def service_template(desired: str = "2") -> dict:
    return {"Resources": {"Desired": {"Type": "AWS::SSM::Parameter",
                                      "Properties": {"Name": "/ava-olo/staging/svc/desired", "Type": "String", "Value": desired}}}}


class Cdk:
    """Stands in for the cdk CLI: synth writes ``templates``; prepare-change-set creates the change set in moto."""

    def __init__(self, templates: dict[str, dict]) -> None:
        self.templates, self.calls = templates, []

    def __call__(self, argv):
        self.calls.append(list(argv))
        if "synth" in argv:
            out = Path("cdk.out")
            out.mkdir(exist_ok=True)
            artifacts = {}
            for index, (stack, template) in enumerate(self.templates.items()):
                artifact = stack.split("-")[-1].title()
                (out / f"{artifact}.template.json").write_text(json.dumps(template))
                artifacts[artifact] = {"type": "aws:cloudformation:stack", "dependencies": ["Data"] if index else [],
                                       "properties": {"templateFile": f"{artifact}.template.json", "stackName": stack}}
            (out / "manifest.json").write_text(json.dumps({"artifacts": dict(reversed(list(artifacts.items())))}))
        elif "--method=prepare-change-set" in argv:
            artifact = argv[argv.index("--app") + 2]
            stack = next(s for s in self.templates if s.endswith(artifact.lower()))
            cloudformation = client("cloudformation")
            exists = any(s["StackName"] == stack for s in cloudformation.describe_stacks()["Stacks"])
            cloudformation.create_change_set(StackName=stack, ChangeSetName=argv[argv.index("--change-set-name") + 1],
                                             TemplateBody=json.dumps(self.templates[stack]),
                                             ChangeSetType="UPDATE" if exists else "CREATE")
        return 0


@pytest.fixture
def aws(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.chdir(tmp_path)  # cdk.out/ goes here; no environments/ here: the region comes from AWS_DEFAULT_REGION
    monkeypatch.setattr(deploy, "WAIT_DELAY_SECONDS", 0.01)
    with mock_aws():
        yield client("cloudformation")


@pytest.fixture
def steps(monkeypatch, aws):
    """The in-process subcommands and watch: what each saw of the service stack when it ran."""
    seen = []

    def ava_olo(argv):
        seen.append((argv[0], _template(aws, SERVICE)))
        return 0

    def follow(target, version):
        seen.append(("follow_release", target.service_stack, version))
        return 0

    monkeypatch.setattr(deploy, "ava_olo", ava_olo)
    monkeypatch.setattr(deploy, "follow_release", follow)
    return seen


def test_every_step_targets_the_same_project_service_region_and_profile():
    """Mango rule: another team's deploy runs preflight, migrate and verify against its own stacks, not
    ``ava-olo-<env>-*``; its migrate step checks the staging record where the team's staging lives."""
    args = build_parser().parse_args(["deploy", "--env", "production", "--version", "v1.1.0", "--project", "agro",
                                      "--app-service", "orders", "--region", "eu-west-1", "--profile", "agro-prod",
                                      "--migrate", "--staging", "qa", "--staging-region", "eu-central-1"])
    run = deploy.Deploy(args, from_args(args))
    assert run.target.service_stack == "agro-production-service"
    where = ["--region", "eu-west-1", "--profile", "agro-prod", "--project", "agro", "--app-service", "orders"]
    for step in (run.preflight(), run.migrate(), run.verify()):
        assert step[step.index("--version") + 2:][:len(where)] == where, step
    assert run.migrate()[-4:] == ["--staging", "qa", "--staging-region", "eu-central-1"]  # production's staging gate


def _template(cloudformation, stack):
    try:
        return cloudformation.get_template(StackName=stack)["TemplateBody"]
    except cloudformation.exceptions.ClientError:
        return None


def _run(monkeypatch, templates, *extra):
    cdk = Cdk(templates)
    monkeypatch.setattr(deploy, "runner", cdk)
    return main(["deploy", "--env", "staging", "--version", "v1.1.0", *extra]), cdk


def _deployed(aws):
    aws.create_stack(StackName=DATA, TemplateBody=json.dumps(data_template(30)))
    aws.create_stack(StackName=SERVICE, TemplateBody=json.dumps(service_template("2")))


def test_a_safe_release_executes_the_guarded_change_sets_migrates_first_and_sets_the_stack_policy(aws, steps, monkeypatch, capsys):
    _deployed(aws)
    code, cdk = _run(monkeypatch, {DATA: data_template(60), SERVICE: service_template("3")}, "--migrate")
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(json.dumps(_template(aws, DATA)))["Resources"]["AuditLogs"]["Properties"]["RetentionInDays"] == 60
    assert _template(aws, SERVICE)["Resources"]["Desired"]["Properties"]["Value"] == "3"
    deploys = [c for c in cdk.calls if "deploy" in c]
    assert all("--method=prepare-change-set" in c and "--change-set-name" in c for c in deploys), "never a plain cdk deploy"
    assert [c[c.index("--app") + 2] for c in deploys] == ["Data", "Service"], "dependencies first"
    policy = json.loads(aws.get_stack_policy(StackName=DATA)["StackPolicyBody"])
    assert policy["Statement"][1]["Resource"] == ["LogicalResourceId/AuditLogs"]
    assert "StackPolicyBody" not in aws.get_stack_policy(StackName=SERVICE), "no data, no policy"
    seen = {s[0]: s[1:] for s in steps}
    assert set(seen) == {"preflight", "migrate", "follow_release", "verify"}
    (migrate_saw,) = seen["migrate"]
    assert migrate_saw["Resources"]["Desired"]["Properties"]["Value"] == "2", "the migration runs before the service update"
    assert seen["follow_release"] == (SERVICE, "v1.1.0")


def test_removing_a_stateful_resource_stops_before_anything_is_executed(aws, steps, monkeypatch, capsys):
    _deployed(aws)
    code, _ = _run(monkeypatch, {DATA: data_template(with_logs=False), SERVICE: service_template("3")})
    captured = capsys.readouterr()
    assert code == 1
    assert "AuditLogs (AWS::Logs::LogGroup): removed from the template" in captured.out
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"error: deploy stopped at 'guard {DATA}' (exit 1; change set ava-olo-v1-1-0 is left for review")
    assert "AuditLogs" in _template(aws, DATA)["Resources"], "nothing was executed"
    assert _template(aws, SERVICE)["Resources"]["Desired"]["Properties"]["Value"] == "2"
    assert [s[0] for s in steps] == ["preflight"]


def test_a_reviewed_removal_passes_with_allow_replace_and_the_full_policy_comes_back(aws, steps, monkeypatch, capsys):
    _deployed(aws)
    code, _ = _run(monkeypatch, {DATA: data_template(with_logs=False), SERVICE: service_template("2")},
                   "--allow-replace", "AuditLogs", "--override", "audit logs move to the org trail, reviewed in #42")
    assert code == 0, capsys.readouterr()
    assert "AuditLogs" not in _template(aws, DATA)["Resources"]
    assert "allowed (reviewed): AuditLogs" in capsys.readouterr().out
    policy = json.loads(aws.get_stack_policy(StackName=DATA)["StackPolicyBody"])  # lifted for this deploy only
    assert policy["Statement"][1]["Resource"] == ["LogicalResourceId/AuditLogs"]


def test_a_first_deploy_creates_the_stacks_then_protects_them(aws, steps, monkeypatch, capsys):
    code, _ = _run(monkeypatch, {DATA: data_template(30), SERVICE: service_template("2")})
    assert code == 0, capsys.readouterr()
    assert aws.describe_stacks(StackName=DATA)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert "LogicalResourceId/AuditLogs" in aws.get_stack_policy(StackName=DATA)["StackPolicyBody"]


def test_allow_replace_needs_a_reason_and_the_dry_run_runs_nothing(aws, monkeypatch, capsys):
    assert main(["deploy", "--env", "staging", "--version", "v1.1.0", "--allow-replace", "X"]) == 2
    assert "--allow-replace needs --override" in capsys.readouterr().err
    cdk = Cdk({})
    monkeypatch.setattr(deploy, "runner", cdk)
    assert main(["deploy", "--env", "staging", "--version", "v1.1.0", "--migrate", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--method=prepare-change-set --change-set-name ava-olo-v1-1-0" in out and "ava-olo migrate" in out
    assert cdk.calls == []
