#!/usr/bin/env python3
"""The benchmark's floor: one S3 bucket in one stack, in the project's own App (`new_app`: CDK's built-in
validation off, no tree.json) under the project's cdk.json, so the floor differs from `cdk synth` only in
what the app imports and builds: Python, jsii, aws-cdk-lib and the CLI are the floor, the rest is ours."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

from stacks.app_settings import new_app

app = new_app()
stack = cdk.Stack(app, "floor", env=cdk.Environment(account="111111111111", region="us-east-1"))
s3.Bucket(stack, "Bucket")
app.synth()
