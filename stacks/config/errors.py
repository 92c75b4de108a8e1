"""The one error type configuration problems are reported with."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """``<environment>: <field>: <value> is not allowed; <what is allowed>`` — always a single line."""

    def __init__(self, environment: str, field: str, value: Any, allowed: str) -> None:
        self.environment = environment
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        message = f"config error in environment {environment!r}: {field}: {shown} is not allowed; {allowed}"
        super().__init__(" ".join(message.split()))
