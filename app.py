#!/usr/bin/env python3
"""AVA OLO CDK app: ``cdk synth -c env=NAME [-c version=vX.Y.Z] [-c config_dir=DIR]``, or
``cdk synth -c delivery=NAME`` for an account's shared delivery stack (ECR, GitHub OIDC roles).

Picks the environment (default: ``sandbox``, offline and account-agnostic), validates its configuration,
builds its stacks, runs cdk-nag (AwsSolutions, NIST 800-53 R5 and the project's own AvaOlo pack) and
synthesizes. Invalid configuration stops here with one line on stderr and exit status 2, before any construct
is built; unacknowledged cdk-nag findings are listed, then one line, exit status 1
(:func:`ava_olo_constructs.synth_or_exit`).

The configuration is read before the construct library, cdk-nag and the stacks are even imported: a mistyped
``-c env`` or an unreadable file is reported in about half a second instead of one and a half
(:mod:`stacks.config.files`); the settings' own validation needs the library's checks and loads it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

# Node 20 is end-of-life for jsii; its banner on every synth is noise here (set the variable to override).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from stacks.config import ENVIRONMENTS_DIR, ConfigError, load_environment  # noqa: E402
from stacks.config.files import load_delivery  # noqa: E402

if TYPE_CHECKING:
    from aws_cdk import App

    from stacks.config import EnvironmentConfig
    from stacks.config.delivery import DeliveryConfig

#: The app's own context keys (``-c KEY=VALUE``); the rest of the context is CDK's (feature flags, lookups).
OPTIONS = ("delivery", "env", "version", "config_dir")


def cli_options() -> dict[str, Any]:
    """The app's ``-c`` options as the CDK CLI passed them, read by aws-cdk-lib's own App (from CDK_CONTEXT_JSON,
    or the file CDK_CONTEXT_OVERFLOW_LOCATION names).

    A bare App made for this alone: the project's (:func:`create_app`) needs the construct library, cdk-nag and
    the stacks imported first, which bad input should not wait for. It never synthesizes (``auto_synth`` off;
    without CDK_OUTDIR its temporary output directory is removed when the process ends)."""
    from aws_cdk import App

    cli = App(auto_synth=False)
    return {key: cli.node.try_get_context(key) for key in OPTIONS}


def configure(options: Mapping[str, Any]) -> Union[EnvironmentConfig, DeliveryConfig]:
    """The validated configuration the options choose: a delivery stack's, or else an environment's."""
    if options.get("delivery") is not None:
        return load_delivery(str(options["delivery"]))
    return load_environment(
        options.get("env"),
        version=options.get("version"),
        directory=Path(options.get("config_dir") or ENVIRONMENTS_DIR),
    )


def create_app() -> App:
    """The project's App: :func:`stacks.composition.create_app` (cdk.json's feature flags, cdk-nag)."""
    from stacks.composition import create_app as create

    return create()


def build(config: Union[EnvironmentConfig, DeliveryConfig]) -> App:
    from stacks.composition import build_delivery, build_environment
    from stacks.config.delivery import DeliveryConfig

    app = create_app()
    if isinstance(config, DeliveryConfig):
        build_delivery(app, config)
    else:
        build_environment(app, config)
    return app


def main() -> int:
    """Configure, build and synthesize; the exit status (0 ok, 1 policy findings or a CDK error, 2 bad input)."""
    failure: Optional[BaseException] = None
    try:
        config = configure(cli_options())
    except ConfigError as error:
        # synth_or_exit's line and status for bad input (a ConfigError is one line by construction), without
        # importing the construct library to print it.
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - e.g. a library PropsError: synth_or_exit reports it as it reports all
        failure = error
    from ava_olo_constructs import synth_or_exit

    def build_app() -> App:
        if failure is not None:
            raise failure
        return build(config)

    try:
        synth_or_exit(build_app, errors=(ConfigError,))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
