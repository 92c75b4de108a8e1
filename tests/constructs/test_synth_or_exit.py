"""A consumer's failure is one line: unacknowledged cdk-nag findings, a PropsError or any other CDK error end in
one ``error:`` line and an exit status from :func:`ava_olo_constructs.synth_or_exit`, never a jsii trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from ava_olo_constructs import AvaOloChecksProps, PropsError, add_compliance_checks, synth_or_exit


def exit_of(target, capsys, **kwargs) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as raised:
        synth_or_exit(target, **kwargs)
    return raised.value.code, capsys.readouterr().err.strip().splitlines()


def test_unacknowledged_findings_end_in_one_line_and_exit_status_1(tmp_path, capsys):
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    add_compliance_checks(app, ["AvaOlo"])
    logs.CfnLogGroup(Stack(app, "Consumer"), "Forever")
    status, lines = exit_of(app, capsys)
    assert status == 1
    summary, _, report = lines[-1].partition("; report: ")
    assert summary == "error: 1 unacknowledged cdk-nag finding: AvaOlo-LogRetention at Consumer/Forever", lines
    # CDK names the report relative to the working directory when it can (a checkout under /tmp does).
    assert Path(report).resolve() == (tmp_path / "validation-report.json").resolve(), lines
    assert not any("Traceback" in line or "jsii" in line for line in lines), lines


def test_props_error_while_building_is_one_line_and_exit_status_2(capsys):
    def build() -> App:
        AvaOloChecksProps(max_percent=300)
        raise AssertionError("not reached")

    status, lines = exit_of(build, capsys)
    assert status == 2
    assert lines == ["error: max_percent: 300 is not allowed; a whole number from 100 to 200"]


def test_a_cdk_error_is_reduced_to_its_first_line(capsys):
    def build() -> App:
        app = App(builtin_cloud_formation_validation=False)
        ec2.Vpc(Stack(app, "Net"), "Vpc", ip_addresses=ec2.IpAddresses.cidr("10.0.0.0/28"))
        return app

    status, lines = exit_of(build, capsys)
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: "), lines


def test_the_configuration_error_type_of_the_caller_is_one_line_too(capsys):
    class ConfigError(ValueError):
        pass

    def build() -> App:
        raise ConfigError("config error in environment 'qa': region: 'us-east-7' is not allowed; a region")

    status, lines = exit_of(build, capsys, errors=(ConfigError,))
    assert status == 2 and lines == ["error: config error in environment 'qa': region: 'us-east-7' is not allowed; a region"]


def test_a_clean_app_synthesizes_and_returns_the_assembly(tmp_path):
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    add_compliance_checks(app, ["AvaOlo"])
    logs.CfnLogGroup(Stack(app, "Consumer"), "Kept", retention_in_days=30)
    assert synth_or_exit(app).get_stack_by_name("Consumer").template["Resources"]
