#!/usr/bin/env python3
"""CDK entry point: validate the stage configs, then build one PlatformStage per stage.

`cdk synth -c stages=dev,prod` builds only those stages; without it every environments/<stage>.yaml and
the delivery pipeline (environments/pipeline.yaml) that promotes them.
Bad config prints one line per problem and exits 1 before anything is written to cdk.out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk

from environments.loader import CONFIG_DIR, ConfigError, config_warnings, load_pipeline, load_stages
from stacks.app_settings import new_app
from stacks.platform_app import build_platform


def main(app: cdk.App | None = None) -> int:
    """Synthesize; 1 on bad config or a compliance finding. The CLI hands context and output directory
    over through the environment; tests hand in an `app` carrying them instead."""
    app = app or new_app()
    selection = app.node.try_get_context("stages")
    names = [name.strip() for name in str(selection).split(",") if name.strip()] if selection else None
    config_dir = Path(app.node.try_get_context("config_dir") or CONFIG_DIR)
    try:
        configs = load_stages(names, config_dir)
        pipeline = load_pipeline(config_dir) if names is None else None
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    for warning in config_warnings(configs, pipeline, config_dir):
        print(warning, file=sys.stderr)
    build_platform(app, configs, pipeline)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        print(f"cdk-nag: unacknowledged findings (listed above); report in {app.outdir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
