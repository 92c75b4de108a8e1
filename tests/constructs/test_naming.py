"""Physical names from (project, environment, service, purpose): seed names kept exactly, nothing else collides."""

from __future__ import annotations

import itertools

import pytest

from ava_olo_constructs import PropsError, ResourceNames

SEED = ResourceNames(project="ava-olo", environment="production", service="monitoring-dashboards", seed_names=True)


def service_owned_names(names: ResourceNames) -> dict[str, str]:
    return {
        "service": names.service_name,
        "log group": names.log_group_name,
        "task family": names.task_family,
        "database": names.database_identifier(),
        "database secret": names.database_secret_name,
        "secret": names.secret_name("api-token"),
        "alarm": names.alarm_name("high-error-rate"),
        "alarm topic": names.alarm_topic_name,
        "dashboard": names.dashboard_name,
        "parameters": names.parameter_prefix,
        "metrics": names.metric_namespace,
    }


def test_production_keeps_the_seeds_runbook_names_exactly():
    assert SEED.cluster_name == "ava-olo-production"
    assert SEED.service_name == "monitoring-dashboards"
    assert SEED.log_group_name == "/ecs/monitoring-dashboards"
    assert SEED.database_identifier("farmer-crm") == "farmer-crm"
    assert SEED.environment_secret_name("database/credentials") == "ava-olo/database/credentials"
    assert SEED.alarm_name("high-error-rate") == "ava-olo-high-error-rate"
    assert SEED.alarm_name("db-connection-failures") == "ava-olo-db-connection-failures"


def test_the_apps_non_production_names_stay_as_they_were():
    dev = ResourceNames(project="ava-olo", environment="dev", service="monitoring-dashboards")
    assert dev.database_identifier("farmer-crm") == "farmer-crm-dev"
    assert dev.environment_secret_name("database/credentials") == "ava-olo/dev/database/credentials"
    assert dev.environment_secret_name("encryption-key") == "ava-olo/dev/encryption-key"


def test_a_services_own_names_carry_project_environment_and_service():
    names = ResourceNames(project="agro", environment="qa", service="orders")
    assert names.database_identifier() == "orders-qa"
    assert names.database_secret_name == "agro/qa/orders/database/credentials"
    assert names.secret_name("api-token") == "agro/qa/orders/api-token"
    assert names.alarm_name("high-error-rate") == "agro-qa-orders-high-error-rate"


def test_two_services_and_two_environments_never_share_a_service_owned_name():
    combos = [
        ResourceNames(project="agro", environment=env, service=svc)
        for env, svc in itertools.product(("qa", "prod"), ("orders", "invoices"))
    ]
    for a, b in itertools.combinations(combos, 2):
        ours, theirs = service_owned_names(a), service_owned_names(b)
        clashes = {kind for kind in ours if ours[kind] == theirs[kind]}
        assert not clashes, (a, b, clashes)


def test_only_the_cluster_and_environment_secrets_are_shared_by_an_environments_services():
    orders = ResourceNames(project="agro", environment="qa", service="orders")
    invoices = ResourceNames(project="agro", environment="qa", service="invoices")
    assert orders.cluster_name == invoices.cluster_name == "agro-qa"
    assert orders.environment_secret_name("smtp") == invoices.environment_secret_name("smtp") == "agro/qa/smtp"


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: ResourceNames(environment="Dev", service="x"), "environment"),
        (lambda: ResourceNames(environment="dev", service="x_y"), "service"),
        (lambda: ResourceNames(environment="dev", service="x", project="-agro"), "project"),
        (lambda: ResourceNames(environment="dev", service="x").database_identifier("Farmer_CRM"), "database"),
        (lambda: ResourceNames(environment="dev", service="x").database_identifier("d" * 60), "database"),
    ],
)
def test_bad_name_parts_are_one_line_naming_the_field(call, field):
    with pytest.raises(PropsError) as caught:
        call()
    assert caught.value.field == field and "\n" not in str(caught.value)
