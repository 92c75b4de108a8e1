"""max_connections estimates and the connection-budget check (seed "Issue 2: Database Connection Errors")."""

from __future__ import annotations

from typing import Any

import pytest

from ava_olo_constructs.connection_budget import (
    check_connection_budget,
    estimate_max_connections,
    instance_memory_gib,
    peak_tasks,
    required_connections,
)
from ava_olo_constructs.validation import PropsError

#: The seed's pool: DB_POOL_SIZE 20 + DB_MAX_OVERFLOW 30 per task.
POOL = dict(pool_size=20, max_overflow=30)


# --------------------------------------------------------------------------------------------- estimates


def test_t4g_medium_matches_the_value_aws_documents() -> None:
    assert estimate_max_connections(instance_class="t4g.medium") == 405


def test_db_prefix_is_accepted() -> None:
    assert estimate_max_connections(instance_class="db.t4g.medium") == 405
    assert estimate_max_connections(instance_class="db.r6g.large") == 1622
    assert instance_memory_gib("db.r6g.large") == instance_memory_gib("r6g.large") == 16


def test_r6g_large() -> None:
    assert estimate_max_connections(instance_class="r6g.large") == 1622


@pytest.mark.parametrize("instance_class", ["r6g.4xlarge", "r6g.8xlarge", "r7g.16xlarge", "r8g.24xlarge", "r5.12xlarge"])
def test_large_classes_are_capped_at_5000(instance_class: str) -> None:
    assert estimate_max_connections(instance_class=instance_class) == 5000


def test_estimate_grows_with_memory_below_the_cap() -> None:
    values = [estimate_max_connections(instance_class=c) for c in ("t4g.medium", "t4g.large", "r6g.large", "r6g.xlarge")]
    assert values == sorted(values) and len(set(values)) == len(values)


def test_burstable_large_has_8_gib_not_16() -> None:
    assert instance_memory_gib("t4g.large") == instance_memory_gib("t3.large") == 8
    assert estimate_max_connections(instance_class="t4g.large") == 811


def test_serverless_v2_limit_follows_the_maximum_capacity() -> None:
    assert estimate_max_connections(serverless_max_capacity=4) == 811
    assert estimate_max_connections(serverless_max_capacity=4.0) == 811
    # 2 ACU = 4 GiB, the same memory as a t4g.medium.
    assert estimate_max_connections(serverless_max_capacity=2) == 405
    assert estimate_max_connections(serverless_max_capacity=256) == 5000


@pytest.mark.parametrize("instance_class", ["m5.large", "r6g.medium", "t4g.xlarge", 42, "", "R6G.LARGE", "db.", "r6g.large "])
def test_unknown_instance_class_is_a_props_error_naming_instance_class(instance_class: Any) -> None:
    with pytest.raises(PropsError) as caught:
        estimate_max_connections(instance_class=instance_class)
    assert caught.value.field == "instance_class"
    assert caught.value.value == instance_class
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("instance_class: ")


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="neither"),
        pytest.param({"instance_class": "r6g.large", "serverless_max_capacity": 4}, id="both"),
        pytest.param({"instance_class": None, "serverless_max_capacity": None}, id="both-none"),
    ],
)
def test_exactly_one_of_instance_class_and_serverless_maximum(kwargs: dict[str, Any]) -> None:
    with pytest.raises(PropsError) as caught:
        estimate_max_connections(**kwargs)
    assert caught.value.field == "instance_class"
    assert "not both" in str(caught.value)


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        estimate_max_connections("r6g.large")  # type: ignore[misc]


# --------------------------------------------------------------------------------------------- budget


def test_required_connections_counts_the_deploy_surge_times_pool_plus_reserve() -> None:
    # 10 tasks scaled out, 20 while a deployment runs the new beside the old (200 %): 20 x 50 + 10.
    assert required_connections(max_tasks=10, reserve=10, **POOL) == 1010
    assert required_connections(max_tasks=10, reserve=10, max_healthy_percent=100, **POOL) == 510
    assert required_connections(max_tasks=1, pool_size=1, max_overflow=0, reserve=0) == 2
    assert peak_tasks(3) == 6 and peak_tasks(3, 150) == 5


def test_ten_seed_sized_tasks_do_not_fit_a_t4g_medium() -> None:
    with pytest.raises(PropsError) as caught:
        check_connection_budget(
            max_tasks=10, reserve=10, max_connections=405, database="db.t4g.medium", **POOL
        )
    error = caught.value
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert "1010" in message and "405" in message and "20 while a deployment runs at 200 %" in message
    assert "db.t4g.medium" in message
    assert "fewer tasks" in message and "smaller pool" in message and "larger database" in message
    assert error.field == "max_count"
    assert error.value == 10
    assert message.startswith("max_count: 10 is not allowed; ")


def test_budget_field_can_be_renamed() -> None:
    with pytest.raises(PropsError) as caught:
        check_connection_budget(
            max_tasks=10, reserve=10, max_connections=405, database="x", field="service.max_count", **POOL
        )
    assert caught.value.field == "service.max_count"


def test_exactly_at_the_limit_passes() -> None:
    assert check_connection_budget(max_tasks=10, reserve=10, max_connections=1010, database="x", **POOL) is None
    # 2 x 7 x 50 + 5 = 705; 4 tasks: 8 x 50 + 5 = 405, a t4g.medium filled to the last connection.
    check_connection_budget(max_tasks=4, reserve=5, max_connections=405, database="db.t4g.medium", **POOL)


def test_one_connection_over_the_limit_fails() -> None:
    with pytest.raises(PropsError, match="1011"):
        check_connection_budget(max_tasks=10, reserve=11, max_connections=1010, database="x", **POOL)


def test_seed_defaults_fit_serverless_at_4_acu() -> None:
    # 4 x 50 + 10 = 210 <= 811
    check_connection_budget(
        max_tasks=4, reserve=10, max_connections=estimate_max_connections(serverless_max_capacity=4),
        database="Serverless v2 at 4 ACU", **POOL,
    )
