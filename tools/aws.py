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
