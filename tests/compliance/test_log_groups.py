"""Every log group in every template is KMS-encrypted and has a retention CloudWatch accepts."""

from __future__ import annotations

import json

from environments.schema import CLOUDWATCH_RETENTION_DAYS
from tests.conftest import SynthesizedPlatform
from tests.support import resources


def test_every_log_group_is_encrypted_and_expires(platform: SynthesizedPlatform) -> None:
    checked = 0
    for path in platform.template_files():
        for logical_id, group in resources(json.loads(path.read_text()), "AWS::Logs::LogGroup").items():
            properties = group.get("Properties", {})
            assert "KmsKeyId" in properties, f"{path.name}: {logical_id} is not KMS-encrypted"
            assert properties.get("RetentionInDays") in CLOUDWATCH_RETENTION_DAYS, f"{path.name}: {logical_id}"
            checked += 1
    assert checked >= 3 * 10, "every stage's log groups were looked at"
