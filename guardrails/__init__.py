"""Project-specific compliance checks that run beside cdk-nag's packs."""
