"""How ECS rolls a new revision out: the strategy and its settings (README "Deployment strategy").

ECS's native strategies are ``DeploymentConfiguration.Strategy`` on the service: ``ROLLING`` (tasks replaced
in place; a failure is rolled back by a second deployment), and the blue/green family - ``BLUE_GREEN``,
``CANARY``, ``LINEAR`` - where the new revision runs beside the old one in the alternate target group, gets test
traffic first (the pre-traffic check runs then), then production traffic, and a rollback is ECS moving the
traffic back to the old revision, which keeps running until the final bake ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs

from . import web_service_defaults as defaults
from .validation import PropsError, check_range

_ECS = {
    "canary": ecs.DeploymentStrategy.CANARY,
    "blue_green": ecs.DeploymentStrategy.BLUE_GREEN,
    "linear": ecs.DeploymentStrategy.LINEAR,
    "rolling": ecs.DeploymentStrategy.ROLLING,
}


def _tenths(field: str, value: float, low: float, high: float) -> None:
    """ECS takes percentages in multiples of 0.1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise PropsError(field, value, f"a percentage from {low:g} to {high:g}")
    if abs(round(value * 10) - value * 10) > 1e-9:
        raise PropsError(field, value, "a multiple of 0.1 (ECS's granularity)")


@dataclass(frozen=True)
class DeploymentSettings:
    """:param strategy: ``canary`` | ``blue_green`` | ``linear`` | ``rolling``. Default ``canary``.
    :param canary_percent: production share of the canary step. Default 5.0 (0.1-100, multiples of 0.1).
    :param canary_bake_minutes: minutes at that share before the full shift. Default 10 (0-1440).
    :param bake_minutes: minutes after the full shift while the old revision still runs. Default 15 (0-1440).
    :param linear_percent / linear_step_minutes: LINEAR's step and wait. Default 10.0 / 6.
    """

    strategy: str = defaults.PRODUCTION_STRATEGY
    canary_percent: float = defaults.CANARY_PERCENT
    canary_bake_minutes: int = defaults.CANARY_BAKE_MINUTES
    bake_minutes: int = defaults.BAKE_MINUTES
    linear_percent: float = defaults.LINEAR_PERCENT
    linear_step_minutes: int = defaults.LINEAR_STEP_MINUTES

    def validate(self, prefix: str = "") -> None:
        if self.strategy not in _ECS:
            raise PropsError(f"{prefix}strategy", self.strategy, f"one of {', '.join(defaults.STRATEGIES)}")
        _tenths(f"{prefix}canary_percent", self.canary_percent, 0.1, 100)
        _tenths(f"{prefix}linear_percent", self.linear_percent, 3, 100)
        for name in ("canary_bake_minutes", "bake_minutes", "linear_step_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PropsError(f"{prefix}{name}", value, "a whole number of minutes")
            check_range(f"{prefix}{name}", value, 0, 1440, "minutes, ECS's limits")

    @property
    def shifts_traffic(self) -> bool:
        """True for the blue/green family: alternate target group, test listener, traffic-shift rollback."""
        return self.strategy != "rolling"

    def service_options(self) -> dict:
        """Keyword arguments for ``ecs.FargateService`` (strategy, bake time, canary / linear step)."""
        options: dict = {"deployment_strategy": _ECS[self.strategy]}
        if not self.shifts_traffic:
            return options
        options["bake_time"] = Duration.minutes(self.bake_minutes)
        if self.strategy == "canary":
            options["canary_configuration"] = ecs.TrafficShiftConfig(
                step_percent=self.canary_percent, step_bake_time=Duration.minutes(self.canary_bake_minutes)
            )
        elif self.strategy == "linear":
            options["linear_configuration"] = ecs.TrafficShiftConfig(
                step_percent=self.linear_percent, step_bake_time=Duration.minutes(self.linear_step_minutes)
            )
        return options


def settings_for_tier(tier: str, strategy: Optional[str] = None, **overrides) -> DeploymentSettings:
    """The documented default strategy of a tier (canary for production, rolling otherwise), with overrides."""
    default = defaults.PRODUCTION_STRATEGY if tier == "production" else defaults.OTHER_STRATEGY
    return DeploymentSettings(strategy=strategy or default, **overrides)
