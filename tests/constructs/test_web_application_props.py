"""The higher-level API's props: one shape, documented defaults, tokens skipped, bad input one line. No synth."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from aws_cdk import App, CfnParameter, Environment, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs

from ava_olo_constructs import (
    AuroraPostgresDatabaseProps,
    FargateWebServiceProps,
    PropsError,
    ResourceNames,
    check_connection_budget,
    waf_defaults,
)
from ava_olo_constructs.waf import DEFAULT_RATE_LIMITS

# New public names; to be exported from the package root.
from ava_olo_constructs.autoscaling import AutoScalingProps
from ava_olo_constructs.connection_budget import ConnectionBudget
from ava_olo_constructs.rotation_redeploy import RedeployOnSecretRotation, RedeployOnSecretRotationProps
from ava_olo_constructs.service_secrets import DatabaseSecretsProps
from ava_olo_constructs.web_application import WebApplication, WebApplicationProps


def budget(**overrides) -> ConnectionBudget:
    values = dict(max_tasks=4, pool_size=20, max_overflow=30, reserve=10, max_connections=405, database="db.t4g.medium")
    return ConnectionBudget(**{**values, **overrides})


def test_the_default_database_holds_the_default_service_at_its_default_maximum():
    from ava_olo_constructs.web_application import DEFAULT_SCALING

    defaults = AuroraPostgresDatabaseProps(vpc=None, cluster_identifier="c", secret_name="s")  # type: ignore[arg-type]
    check = budget(max_tasks=DEFAULT_SCALING.max_count, max_connections=defaults.max_connections)
    check.check()
    assert check.required == 8 * 50 + 10 <= defaults.max_connections


def test_connection_budget_refuses_the_same_numbers_either_way():
    too_many = dict(max_tasks=5, pool_size=20, max_overflow=30, reserve=10, max_connections=405, database="db.t4g.medium")
    with pytest.raises(PropsError) as construct_form:
        ConnectionBudget(**too_many).check()
    with pytest.raises(PropsError) as function_form:
        check_connection_budget(**too_many)
    assert str(construct_form.value) == str(function_form.value)
    assert construct_form.value.field == "max_count" and "510 connections exceeds max_connections 405" in str(construct_form.value)


def test_connection_budget_skips_deploy_time_tokens():
    stack = Stack(App(builtin_cloud_formation_validation=False), "Tokens")
    max_tasks = CfnParameter(stack, "MaxTasks", type="Number").value_as_number
    assert Token.is_unresolved(max_tasks)
    check = budget(max_tasks=max_tasks, max_connections=1)
    assert not check.checkable
    check.check()  # no "-1.888e+289 is not allowed"


def test_the_constructs_have_one_shape_and_typed_signatures():
    for construct in (WebApplication, RedeployOnSecretRotation):
        parameters = list(inspect.signature(construct.__init__).parameters)
        assert parameters[:4] == ["self", "scope", "construct_id", "props"], construct
    assert "(*args, **kwargs)" not in str(inspect.signature(WebApplication.__init__))


def test_every_web_application_default_is_documented():
    doc = WebApplicationProps.__doc__ or ""
    for name in WebApplicationProps.__dataclass_fields__:
        assert name in doc, name


def test_every_construct_takes_scope_id_and_one_props_object():
    """One API shape: each construct the package exports is ``(scope, construct_id, props)``, and refuses
    anything but its props dataclass with one line; the package exports no resource-making free functions."""
    import inspect

    import ava_olo_constructs as library
    from constructs import Construct

    constructs = {name: getattr(library, name) for name in library.__all__
                  if isinstance(getattr(library, name), type) and issubclass(getattr(library, name), Construct)}
    assert len(constructs) >= 20
    for name, construct in constructs.items():
        assert list(inspect.signature(construct.__init__).parameters)[:4] == ["self", "scope", "construct_id", "props"], name
        assert len(inspect.signature(construct.__init__).parameters) == 4, name
    functions = sorted(name for name in library.__all__ if inspect.isfunction(getattr(library, name)))
    assert functions == [  # helpers that make nothing in the tree but metadata, tags or a report
        "acknowledge", "acknowledgements", "add_compliance_checks", "apply_standard_tags", "check_connection_budget",
        "estimate_max_connections", "standard_tags", "synth_or_exit",
    ]
    stack = Stack(App(builtin_cloud_formation_validation=False), "Shape")
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-central-1a"],
                                      private_subnet_ids=["s-1"])
    cluster = ecs.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="c", vpc=vpc)
    service = ecs.FargateService.from_fargate_service_attributes(stack, "Svc", cluster=cluster, service_name="svc")
    arn = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:s-AbCdEf"
    RedeployOnSecretRotation(stack, "Props", RedeployOnSecretRotationProps(secret_arn=arn, service=service))
    with pytest.raises(PropsError, match="^props: "):
        RedeployOnSecretRotation(stack, "Mapping", {"secret_arn": arn, "service": service})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword argument 'secret_arn'"):  # the keyword form is gone
        RedeployOnSecretRotation(stack, "Keywords", secret_arn=arn, service=service)  # type: ignore[call-arg]


def test_web_application_props_refuse_a_database_and_props_for_a_new_one():
    stack = Stack(App(builtin_cloud_formation_validation=False), "Props")
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-central-1a", "eu-central-1b"],
                                      isolated_subnet_ids=["s-1", "s-2"])
    cluster = ecs.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="c", vpc=vpc)
    names = ResourceNames(project="agro", environment="qa", service="orders")
    service = FargateWebServiceProps(cluster=cluster, image=ecs.ContainerImage.from_registry("x:v1.0.0"),
                                     service_name=names.service_name, app_version="v1.0.0", allow_plain_http=True)
    database_props = AuroraPostgresDatabaseProps(vpc=vpc, cluster_identifier="orders-qa", secret_name="agro/qa/orders/db")
    with pytest.raises(PropsError) as caught:
        WebApplicationProps(names=names, service=service, database=object(), database_props=database_props).validate()  # type: ignore[arg-type]
    assert caught.value.field == "database_props"
    with pytest.raises(PropsError) as caught:  # one place for the scaling bounds the connection budget checks
        WebApplicationProps(names=names, service=dataclasses.replace(service, autoscaling=AutoScalingProps(1, 9))).validate()
    assert caught.value.field == "service.autoscaling"
    assert WebApplicationProps(names=names, service=service).database_props_or_default().secret_name == (
        "agro/qa/orders/database/credentials"
    )


def test_database_secrets_props_name_the_bad_field():
    with pytest.raises(PropsError) as caught:
        DatabaseSecretsProps(database=object()).validate()  # type: ignore[arg-type]
    assert caught.value.field == "database"


def test_master_username_defaults_from_the_database_name_and_is_overridable():
    vpc = None
    props = AuroraPostgresDatabaseProps(vpc=vpc, cluster_identifier="orders-qa", secret_name="s", database_name="orders")  # type: ignore[arg-type]
    assert props.master_user == "orders_admin"
    assert AuroraPostgresDatabaseProps(vpc=vpc, cluster_identifier="c", secret_name="s").master_user == "app_admin"  # type: ignore[arg-type]
    assert AuroraPostgresDatabaseProps(vpc=vpc, cluster_identifier="c", secret_name="s", master_username="dba").master_user == "dba"  # type: ignore[arg-type]
    with pytest.raises(PropsError) as caught:
        AuroraPostgresDatabaseProps(vpc=vpc, cluster_identifier="c", secret_name="s", master_username="9lives").master_user  # type: ignore[arg-type]
    assert caught.value.field == "master_username"


def test_the_libraries_waf_default_knows_no_application_paths():
    assert all(limit.path_prefix is None for limit in DEFAULT_RATE_LIMITS)
    assert any(path == "/api/farmers" for _, path, _, _ in waf_defaults.SEED_RATE_LIMITS)  # AVA OLO's, for the app
