#!/usr/bin/env python3
"""AVA OLO CDK app: ``cdk synth -c env=NAME [-c version=vX.Y.Z] [-c config_dir=DIR]``, or
``cdk synth -c delivery=NAME`` for an account's shared delivery stack (ECR, GitHub OIDC roles).

Picks the environment (default: ``sandbox``, offline and account-agnostic), validates its configuration,
builds its stacks, runs cdk-nag and synthesizes. Invalid configuration stops here with one line on stderr and
exit status 2, before any construct is built.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Node 20 is end-of-life for jsii; its banner on every synth is noise here (set the variable to override).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from ava_olo_constructs import PropsError
from stacks.composition import build_delivery, build_environment, create_app
from stacks.config.delivery import load_delivery
from stacks.config import ENVIRONMENTS_DIR, ConfigError, load_environment


def main() -> int:
    app = create_app()
    try:
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
    except (ConfigError, PropsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as error:
        # cdk-nag (policy validation) has already printed every unacknowledged finding above; say it in one
        # line instead of a jsii stack trace.
        if "ValidationFailed" not in str(error):
            raise
        print(f"error: unacknowledged cdk-nag findings; {str(error).split(': ', 1)[-1]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
