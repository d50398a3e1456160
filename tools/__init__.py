"""Tooling for the people who deploy the platform: cost estimates, diagrams, preflight checks, bootstrap
and teardown. Each command reads the synthesized cloud assembly (cdk.out/), never re-builds the app, and
needs AWS credentials only where its module says so."""
