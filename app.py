#!/usr/bin/env python3
"""AVA OLO CDK app: ``cdk synth -c env=NAME [-c version=vX.Y.Z] [-c config_dir=DIR]``, or
``cdk synth -c delivery=NAME`` for an account's shared delivery stack (ECR, GitHub OIDC roles).

Picks the environment (default: ``sandbox``, offline and account-agnostic), validates its configuration,
builds its stacks, runs cdk-nag (AwsSolutions, NIST 800-53 R5 and the project's own AvaOlo pack) and
synthesizes. Invalid configuration stops here with one line on stderr and exit status 2, before any construct
is built; unacknowledged cdk-nag findings are listed, then one line, exit status 1
(:func:`ava_olo_constructs.synth_or_exit`).
"""

from __future__ import annotations

import os
from pathlib import Path

# Node 20 is end-of-life for jsii; its banner on every synth is noise here (set the variable to override).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App  # noqa: E402

from ava_olo_constructs import synth_or_exit  # noqa: E402
from stacks.composition import build_delivery, build_environment, create_app  # noqa: E402
from stacks.config import ENVIRONMENTS_DIR, ConfigError, load_environment  # noqa: E402
from stacks.config.delivery import load_delivery  # noqa: E402


def build() -> App:
    app = create_app()
    delivery = app.node.try_get_context("delivery")
    if delivery is not None:
        build_delivery(app, load_delivery(str(delivery)))
    else:
        config = load_environment(
            app.node.try_get_context("env"),
            version=app.node.try_get_context("version"),
            directory=Path(app.node.try_get_context("config_dir") or ENVIRONMENTS_DIR),
        )
        build_environment(app, config)
    return app


def main() -> int:
    """Build and synthesize; the exit status (0 ok, 1 policy findings or a CDK error, 2 bad input)."""
    try:
        synth_or_exit(build, errors=(ConfigError,))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
