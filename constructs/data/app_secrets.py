"""The application's secrets (seeds 001, 002, 003), under /<project>/<stage>/, encrypted with the secrets key.

Values that are ours to make (the JWT signing key) are generated. Third-party credentials start as a
generated placeholder that an operator replaces (`aws secretsmanager put-secret-value`); CloudFormation
never sees a real value, and later deploys do not overwrite it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.common.acknowledgments import acknowledge

THIRD_PARTY = {
    "anthropic-api-key": ("AnthropicApiKey", "Anthropic API key", None),
    "openai-api-key": ("OpenAiApiKey", "OpenAI API key", None),
    "servicenow-oauth": ("ServiceNowOAuth", "ServiceNow OAuth client credentials", ("client_id", "client_secret")),
    "slack-bot-token": ("SlackBotToken", "Slack bot token", None),
    # Seed 002: the payment service's Lemon Squeezy API key (theirs) and webhook signing secret (generated here,
    # then entered in Lemon Squeezy); the user service's OAuth 2.0 sign-in client.
    "lemon-squeezy": ("LemonSqueezy", "Lemon Squeezy API key and webhook secret", ("api_key", "webhook_secret")),
    "oauth-client": ("OAuthClient", "OAuth 2.0 sign-in client credentials", ("client_id", "client_secret")),
}
"""name -> (construct id, description, JSON fields or None for a plain string)."""


class AppSecrets(Construct):
    """`by_name` maps each secret's short name to the secret, `names` to its full name (what pods mount it
    by) and, with replicas, `replica_names` to the output holding the name and random suffix its replicas share
    (what a secondary region's complete replica ARN is made of); `jwt_signing_key` is also an attribute."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        replicas: Sequence[secretsmanager.ReplicaRegion] = (),
    ) -> None:
        """`replicas`: the regions (and keys) every secret is replicated to: workloads that fail over read
        them in their own region."""
        super().__init__(scope, construct_id)
        self._replicas = list(replicas) or None
        self.by_name: dict[str, secretsmanager.Secret] = {}
        self.names: dict[str, str] = {}
        self.replica_names: dict[str, cdk.CfnOutput] = {}
        for name, (secret_id, description, fields) in THIRD_PARTY.items():
            generator = (
                secretsmanager.SecretStringGenerator(
                    secret_string_template=json.dumps({fields[0]: "replace-me"}), generate_string_key=fields[1]
                )
                if fields
                else secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=32)
            )
            secret = self._secret(secret_id, f"{name_prefix}{name}", f"{description} (placeholder until set)",
                                  generator, encryption_key, removal_policy)  # fmt: skip
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                f"The {description} is issued by a third party; it is rotated there and then stored here.",
            )
        self.jwt_signing_key = self._secret(
            "JwtSigningKey",
            f"{name_prefix}jwt-signing-key",
            "JWT signing key (HMAC)",
            secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            encryption_key,
            removal_policy,
        )
        acknowledge(
            self.jwt_signing_key,
            "AwsSolutions-SMG4",
            "Rotating the signing key logs every user out; it is rotated on a planned change, not on a timer.",
        )

    def _secret(
        self,
        construct_id: str,
        secret_name: str,
        description: str,
        generator: secretsmanager.SecretStringGenerator,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=secret_name,
            description=description,
            encryption_key=encryption_key,
            generate_secret_string=generator,
            removal_policy=removal_policy,
            replica_regions=self._replicas,
        )
        short_name = secret_name.rsplit("/", 1)[-1]
        self.by_name[short_name] = secret
        self.names[short_name] = secret_name
        if self._replicas:  # split here: CloudFormation splits no value read from another stack
            self.replica_names[short_name] = cdk.CfnOutput(
                self, f"{construct_id}ReplicaName", value=cdk.Fn.select(6, cdk.Fn.split(":", secret.secret_arn))
            )
        return secret
