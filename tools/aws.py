"""AWS access for the commands that need it: one place that says, in one line, when credentials are
missing or belong to another account, and which profile to set.

boto3 is imported only here and only when a command talks to AWS, so everything else runs without it.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class NoCredentials(Exception):
    """No usable AWS credentials; the message is the one line to print."""


@dataclass(frozen=True)
class Identity:
    """Who the credentials in use are: the account and the caller's ARN."""

    account: str
    arn: str


def session_with_credentials(command: str) -> Any:
    """A boto3 session whose credentials resolve, or NoCredentials naming `command`."""
    import boto3
    import botocore.exceptions

    session = boto3.Session()
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as error:
        raise NoCredentials(f"{command} needs AWS credentials: {error}") from None
    if credentials is None:
        raise NoCredentials(
            f"{command} needs AWS credentials and found none (set AWS_PROFILE, or run `aws sso login --profile ...`)"
        )
    return session


def identity(session: Any) -> Identity:
    """The caller identity of `session` (STS needs no permission for this)."""
    import botocore.exceptions

    try:
        answer = session.client("sts").get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise NoCredentials(f"the AWS credentials in use do not work: {error}") from None
    return Identity(str(answer["Account"]), str(answer["Arn"]))


def profiles_for_account(account: str, config_file: Path | None = None) -> list[str]:
    """Profiles of the AWS config file that lead to `account` (an SSO account id or a role ARN in it), so a
    wrong-account message can name the one to set."""
    path = config_file or Path(os.environ.get("AWS_CONFIG_FILE", Path.home() / ".aws" / "config"))
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return []
    found = []
    for section in parser.sections():
        values = parser[section]
        if values.get("sso_account_id") == account or f":{account}:" in values.get("role_arn", ""):
            found.append(section.removeprefix("profile ").strip())
    return sorted(found)


def account_mismatch(expected: str, actual: Identity, what: str, config_file: Path | None = None) -> str | None:
    """None when `actual` is in `expected`; else the line saying whose credentials these are and which
    profile to set (from the AWS config file, or how to make one)."""
    if actual.account == expected:
        return None
    profiles = profiles_for_account(expected, config_file)
    fix = (
        f"set AWS_PROFILE={profiles[0]}" + (f" (or {', '.join(profiles[1:])})" if profiles[1:] else "")
        if profiles
        else f"set AWS_PROFILE to a profile for account {expected} (none in the AWS config file leads there)"
    )
    return (
        f"the credentials in use are {actual.arn} in account {actual.account}, not {what}'s account {expected} — {fix}"
    )


class Boto3View:
    """tools/preflight.py's questions, asked of the stage's account through `session` (boto3)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def _missing(self, error: Exception, *codes: str) -> bool:
        return getattr(error, "response", {}).get("Error", {}).get("Code") in codes

    def bootstrap_version(self, region: str, parameter: str) -> int | None:
        import botocore.exceptions

        try:
            answer = self.session.client("ssm", region_name=region).get_parameter(Name=parameter)
        except botocore.exceptions.ClientError as error:
            if self._missing(error, "ParameterNotFound"):
                return None
            raise
        return int(answer["Parameter"]["Value"])

    def secret_versions(self, region: str, name: str) -> int | None:
        import botocore.exceptions

        try:
            answer = self.session.client("secretsmanager", region_name=region).describe_secret(SecretId=name)
        except botocore.exceptions.ClientError as error:
            if self._missing(error, "ResourceNotFoundException"):
                return None
            raise
        return len(answer.get("VersionIdsToStages", {}))

    def role_exists(self, name: str) -> bool:
        import botocore.exceptions

        try:
            self.session.client("iam").get_role(RoleName=name)
        except botocore.exceptions.ClientError as error:
            if self._missing(error, "NoSuchEntity"):
                return False
            raise
        return True

    def shield_subscribed(self) -> bool:
        state = self.session.client("shield", region_name="us-east-1").get_subscription_state()
        return bool(state["SubscriptionState"] == "ACTIVE")

    def cost_tag_active(self, key: str) -> bool:
        answer = self.session.client("ce", region_name="us-east-1").list_cost_allocation_tags(TagKeys=[key])
        return any(tag.get("Status") == "Active" for tag in answer.get("CostAllocationTags", []))
