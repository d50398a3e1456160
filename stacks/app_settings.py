"""The App every synthesis uses, in a module of its own that imports only aws_cdk: the benchmark's floor
builds its one bucket in the same App without paying for the project's modules."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk


def new_app(**props: Any) -> cdk.App:
    """The App every synthesis uses (app.py, the tests); `props` adds context or an output directory.

    CDK's built-in template validation (a WASM engine, about 2 s of every synth) is off: cfn-lint checks
    every template of every stage in `make test`, which the pipeline runs before it synthesizes. No
    tree.json either (0.3 s, 1.7 MB): deploys never read it, only construct-tree viewers do.
    """
    return cdk.App(builtin_cloud_formation_validation=False, tree_metadata=False, **props)
