#!/usr/bin/env python3
"""The benchmark's floor: one S3 bucket in one stack, synthesized with the project's cdk.json. Whatever
`cdk synth` costs for this is the price of Python, jsii, aws-cdk-lib and the CLI, not of our app."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App()
stack = cdk.Stack(app, "floor", env=cdk.Environment(account="111111111111", region="us-east-1"))
s3.Bucket(stack, "Bucket")
app.synth()
