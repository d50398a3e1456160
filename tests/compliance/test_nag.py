"""cdk-nag over every stage, each pack the stage chose (compliance.packs) and the project's Platform pack:
zero unacknowledged findings; each pack runs on the stages that chose it only; and each Platform rule
fires on a construct that breaks it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks_v2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs.common.acknowledgments import acknowledge, acknowledge_provider_handler

from environments.loader import load_pipeline
from guardrails.chosen_packs import PACK_CLASSES
from guardrails.nag_rules import PACK_NAMES
from guardrails.platform_checks import RULE_IDS, PlatformChecks, template_findings
from stacks.network import NetworkStack
from stacks.platform import PlatformComputeStack
from stacks.platform_app import add_compliance_checks, chosen_packs
from tests.stage_files import LIVE_CONFIG
from tests.synthesis import SynthesizedPlatform


def _findings(report_path: Path) -> list[str]:
    report = json.loads(report_path.read_text())
    return [
        f"{plugin['pluginName']} {violation['ruleName']} ({violation['severity']}) at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def _construct_findings(platform: SynthesizedPlatform) -> list[str]:
    return _findings(platform.outdir / "validation-report.json")


def test_no_unacknowledged_findings(platform: SynthesizedPlatform, stage: str) -> None:
    findings = [f for f in _construct_findings(platform) if f.split(" at ")[-1].startswith(f"{stage}/")]
    assert findings == [], "\n".join(findings)


def test_no_unacknowledged_findings_outside_the_stages(platform: SynthesizedPlatform) -> None:
    """The pipeline and its support stacks; and the synth as a whole did not fail on a finding."""
    findings = [f for f in _construct_findings(platform) if f.split(" at ")[-1].split("/")[0] not in platform.stages]
    assert findings == [], "\n".join(findings)
    assert platform.validation_error is None


def test_every_pack_passes_the_stage(platform: SynthesizedPlatform, stage: str) -> None:
    """Each of the four packs, run straight on the stage's construct tree, finds nothing unacknowledged: the
    stage's chosen ones (which the synth runs there: test_the_synth_runs_the_packs_each_part_chose) and the
    others, so a team may choose any of them."""
    for pack in PACK_NAMES:
        violations = PACK_CLASSES[pack](platform.stages[stage]).validate_scope(platform.stages[stage]).violations
        assert [v.rule_name for v in violations] == [], pack


def test_the_synth_runs_the_packs_each_part_chose(platform: SynthesizedPlatform) -> None:
    """Each stage gets its compliance.packs; the pipeline's stacks every pack of a stage they deploy."""
    assert platform.pipeline is not None
    app = cast(cdk.App, platform.pipeline.node.root)
    chosen = chosen_packs(app, list(platform.configs.values()), load_pipeline(LIVE_CONFIG))
    deployed = {pack for config in platform.configs.values() for pack in config.compliance.packs}
    assert chosen == {
        **{name: set(config.compliance.packs) for name, config in platform.configs.items()},
        **{child.node.id: deployed for child in app.node.children if isinstance(child, cdk.Stack)},
    }
    assert chosen["prod"] == set(PACK_NAMES)


def _app(tmp_path: Path) -> cdk.App:
    return cdk.App(
        outdir=str(tmp_path), context={"aws:cdk:enable-path-metadata": True}, builtin_cloud_formation_validation=False
    )


def _synth_findings(app: cdk.App, tmp_path: Path) -> set[tuple[str, str]]:
    """(rule ID, construct path) of every unacknowledged finding."""
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    return {(line.split()[1], line.split(" at ")[-1]) for line in _findings(tmp_path / "validation-report.json")}


def test_each_pack_checks_only_what_chose_it(tmp_path: Path) -> None:
    """A pack runs over the top-level constructs that chose it: the same unlogged bucket is a HIPAA finding
    in the stack that chose HIPAA and an AwsSolutions one in the stack that chose AwsSolutions, not both."""
    app = _app(tmp_path)
    for stack_id in ("Regulated", "Plain"):
        s3.Bucket(cdk.Stack(app, stack_id, env=cdk.Environment(account="111111111111", region="us-east-1")), "Data")
    add_compliance_checks(app, {"Regulated": ["HIPAA.Security"], "Plain": ["AwsSolutions"]})
    findings = _synth_findings(app, tmp_path)
    packs_at = {(rule.split("-")[0], path.split("/")[0]) for rule, path in findings if not rule.startswith("Platform")}
    assert packs_at == {("HIPAA.Security", "Regulated"), ("AwsSolutions", "Plain")}


def test_one_acknowledgment_covers_the_concern_in_every_pack(tmp_path: Path) -> None:
    """AwsSolutions-S1's acknowledgment also accepts NIST's, HIPAA's and PCI DSS's S3BucketLoggingEnabled
    (and checkov's CKV_AWS_18); without it every pack reports the bucket."""
    logging_rules = {"AwsSolutions-S1", *(f"{pack}-S3BucketLoggingEnabled" for pack in PACK_NAMES[1:])}
    for acknowledged in (False, True):
        app = _app(tmp_path / str(acknowledged))
        stack = cdk.Stack(app, "Logs", env=cdk.Environment(account="111111111111", region="us-east-1"))
        bucket = s3.Bucket(stack, "Target")
        if acknowledged:
            acknowledge(bucket, "AwsSolutions-S1", "The access-log target.")
        add_compliance_checks(app, {"Logs": PACK_NAMES})
        found = {rule for rule, _ in _synth_findings(app, tmp_path / str(acknowledged))}
        assert found & logging_rules == (set() if acknowledged else logging_rules)
        skips = cast(cdk.CfnResource, bucket.node.default_child).get_metadata("checkov")
        assert skips == (
            {"skip": [{"id": "CKV_AWS_18", "comment": "The access-log target."}]} if acknowledged else None
        )


def test_a_concern_takes_one_reason() -> None:
    stack = cdk.Stack(cdk.App(), "Twice")
    bucket = s3.Bucket(stack, "Target")
    acknowledge(bucket, "AwsSolutions-S1", "The access-log target.")
    acknowledge(bucket, "NIST.800.53.R5-S3BucketLoggingEnabled", "The access-log target.")  # same reason: no-op
    with pytest.raises(ValueError, match="acknowledged already"):
        acknowledge(bucket, "HIPAA.Security-S3BucketLoggingEnabled", "Another reason.")


def test_packs_are_wired_and_fail_the_synth(tmp_path: Path) -> None:
    """The check above is only worth something if the packs run: a known-bad stack must be caught."""
    app = _app(tmp_path)
    add_compliance_checks(app, {"Bad": PACK_NAMES})
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account="111111111111", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["us-east-1a", "us-east-1b"])
    open_group = ec2.SecurityGroup(stack, "Open", vpc=vpc)
    open_group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    rules = {line.split()[1] for line in _findings(tmp_path / "validation-report.json")}
    assert {
        "AwsSolutions-EC23",
        "AwsSolutions-VPC7",
        "NIST.800.53.R5-VPCFlowLogsEnabled",
        "HIPAA.Security-VPCFlowLogsEnabled",
        "PCI.DSS.321-VPCFlowLogsEnabled",
        "Platform-OpenIngress[tcp:22]",
    } <= rules


def _platform_findings(tmp_path: Path, build: Callable[[cdk.Stack], None], path_metadata: bool = True) -> set[str]:
    """The Platform pack's findings (rule IDs) over a one-stack app that `build` fills."""
    app = cdk.App(
        outdir=str(tmp_path),
        context={"aws:cdk:enable-path-metadata": path_metadata},
        builtin_cloud_formation_validation=False,
    )
    cdk.Validations.of(app).add_plugins(PlatformChecks(app))
    build(cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="us-east-1")))
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    return {line.split()[1] for line in _findings(tmp_path / "validation-report.json") if line.startswith("Platform")}


ALL_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def _cluster(
    stack: cdk.Stack,
    *,
    public: bool,
    log_types: tuple[str, ...],
    encrypted: bool,
    public_cidrs: list[str] | None = None,
) -> None:
    eks_v2.CfnCluster(
        stack,
        "Cluster",
        role_arn="arn:aws:iam::111111111111:role/eks",
        resources_vpc_config=eks_v2.CfnCluster.ResourcesVpcConfigProperty(
            subnet_ids=["subnet-1", "subnet-2"],
            endpoint_public_access=public,
            endpoint_private_access=True,
            public_access_cidrs=public_cidrs,
        ),
        logging=eks_v2.CfnCluster.LoggingProperty(
            cluster_logging=eks_v2.CfnCluster.ClusterLoggingProperty(
                enabled_types=[eks_v2.CfnCluster.LoggingTypeConfigProperty(type=t) for t in log_types]
            )
        ),
        encryption_config=[
            eks_v2.CfnCluster.EncryptionConfigProperty(
                resources=["secrets"], provider=eks_v2.CfnCluster.ProviderProperty(key_arn="arn:aws:kms:key")
            )
        ]
        if encrypted
        else None,
    )


def _public_cluster(stack: cdk.Stack) -> None:
    _cluster(stack, public=True, log_types=("api",), encrypted=False)


def _office_only_cluster(stack: cdk.Stack) -> None:
    _cluster(stack, public=True, log_types=ALL_LOG_TYPES, encrypted=True, public_cidrs=["203.0.113.0/24"])


def _private_cluster(stack: cdk.Stack) -> None:
    _cluster(stack, public=False, log_types=ALL_LOG_TYPES, encrypted=True)


def _open_groups(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc(
        stack, "Vpc", availability_zones=["us-east-1a"], nat_gateways=0, restrict_default_security_group=False
    )
    group = ec2.SecurityGroup(stack, "Open", vpc=vpc)
    group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    ec2.CfnSecurityGroupIngress(
        stack, "AllFromAnywhere", group_id=group.security_group_id, ip_protocol="-1", cidr_ip="0.0.0.0/0"
    )


def _load_balancer_group(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc(
        stack, "Vpc", availability_zones=["us-east-1a"], nat_gateways=0, restrict_default_security_group=False
    )
    group = ec2.SecurityGroup(stack, "Alb", vpc=vpc)
    for port in (80, 443):
        group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(port))
        acknowledge(group, f"Platform-OpenIngress[tcp:{port}]", "The internet-facing load balancer.")


def _unencrypted_eternal_logs(stack: cdk.Stack) -> None:
    logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.INFINITE)


def _lonely_queue(stack: cdk.Stack) -> None:
    sqs.Queue(stack, "Lonely", enforce_ssl=True)


def _queue_with_dlq(stack: cdk.Stack) -> None:
    dead_letters = sqs.Queue(stack, "DeadLetters")
    sqs.Queue(stack, "Work", dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=3))


def _imdsv1_template(stack: cdk.Stack) -> None:
    ec2.CfnLaunchTemplate(stack, "Nodes", launch_template_data={"instanceType": "m7g.large"})


def _imdsv2_template(stack: cdk.Stack) -> None:
    ec2.CfnLaunchTemplate(
        stack,
        "Nodes",
        launch_template_data={"instanceType": "m7g.large", "metadataOptions": {"httpTokens": "required"}},
    )


def _raw_function(stack: cdk.Stack, **properties: object) -> None:
    """A function as CDK's singleton providers write it: a raw CfnResource, not a lambda.CfnFunction."""
    cdk.CfnResource(
        stack,
        "Handler",
        type="AWS::Lambda::Function",
        properties={"Role": "arn:aws:iam::111111111111:role/handler", "Handler": "index.handler", **properties},
    )


def _bare_raw_function(stack: cdk.Stack) -> None:
    _raw_function(stack)


def _kept_raw_function(stack: cdk.Stack) -> None:
    _raw_function(
        stack,
        DeadLetterConfig={"TargetArn": "arn:aws:sqs:us-east-1:111111111111:dead-letters"},
        ReservedConcurrentExecutions=1,
        VpcConfig={"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
    )


def _acknowledged_provider(stack: cdk.Stack) -> None:
    _raw_function(stack)
    acknowledge_provider_handler(stack, "Handler", calls="S3's API")


PLATFORM_CASES = [
    (
        "public cluster, one log type, no secrets encryption",
        _public_cluster,
        {
            "Platform-EKSEndpoint",
            "Platform-EKSSecretsEncryption",
            *(
                f"Platform-EKSControlPlaneLogs[{t}]"
                for t in ("audit", "authenticator", "controllerManager", "scheduler")
            ),
        },
    ),
    ("private, logged, encrypted cluster", _private_cluster, set()),
    ("public endpoint limited to listed CIDRs", _office_only_cluster, set()),
    ("open security groups", _open_groups, {"Platform-OpenIngress[tcp:22]", "Platform-OpenIngress[all]"}),
    ("load balancer on 80/443, acknowledged", _load_balancer_group, set()),
    (
        "unencrypted log group kept forever",
        _unencrypted_eternal_logs,
        {"Platform-LogGroupKms", "Platform-LogGroupRetention"},
    ),
    ("queue without a dead-letter queue", _lonely_queue, {"Platform-SqsDlq"}),
    ("queue with its dead-letter queue", _queue_with_dlq, set()),
    ("launch template allowing IMDSv1", _imdsv1_template, {"Platform-IMDSv2"}),
    ("launch template requiring IMDSv2", _imdsv2_template, set()),
    (
        "raw function: no DLQ, no reserved concurrency, outside the VPC",
        _bare_raw_function,
        {"Platform-LambdaDLQ", "Platform-LambdaConcurrency", "Platform-LambdaInsideVPC"},
    ),
    ("raw function with DLQ, reserved concurrency, in the VPC", _kept_raw_function, set()),
    ("provider handler, acknowledged", _acknowledged_provider, set()),
]


def test_cdk_nag_does_not_see_raw_functions(tmp_path: Path) -> None:
    """Why the Platform pack has Lambda rules: NIST's LambdaDLQ passes over a function CDK writes raw."""
    app = _app(tmp_path)
    _bare_raw_function(cdk.Stack(app, "Raw", env=cdk.Environment(account="111111111111", region="us-east-1")))
    add_compliance_checks(app, {"Raw": PACK_NAMES})
    rules = {rule for rule, _ in _synth_findings(app, tmp_path)}
    assert not {rule for rule in rules if "Lambda" in rule and not rule.startswith("Platform")}
    assert {"Platform-LambdaDLQ", "Platform-LambdaConcurrency", "Platform-LambdaInsideVPC"} <= rules


@pytest.mark.parametrize(("label", "build", "expected"), PLATFORM_CASES, ids=[c[0] for c in PLATFORM_CASES])
def test_platform_pack_rules_fire_on_bad_constructs(
    tmp_path: Path, label: str, build: Callable[[cdk.Stack], None], expected: set[str]
) -> None:
    assert _platform_findings(tmp_path, build) == expected, label


def test_platform_pack_needs_no_path_metadata(tmp_path: Path) -> None:
    """`cdk synth --no-path-metadata` or a bare `python app.py`: findings and acknowledgments still work."""
    assert _platform_findings(tmp_path / "open", _open_groups, path_metadata=False) == {
        "Platform-OpenIngress[tcp:22]",
        "Platform-OpenIngress[all]",
    }
    assert _platform_findings(tmp_path / "alb", _load_balancer_group, path_metadata=False) == set()


def test_platform_findings_in_the_stages_are_the_acknowledged_ones(platform: SynthesizedPlatform, stage: str) -> None:
    """The rules are live on the real templates: what they find there is exactly what is acknowledged
    (each region's internet-facing load balancer on 80/443 unless CloudFront fronts it, Karpenter's
    interruption queue)."""
    found = set()
    for path in platform.stage_template_files(stage):
        template = json.loads(path.read_text())
        for logical_id, findings in template_findings(template).items():
            construct_path = template["Resources"][logical_id]["Metadata"]["aws:cdk:path"]
            rest = construct_path.partition("/")[2]
            for rule, outcome in findings:
                if rule.suffix.startswith("Lambda"):
                    continue  # every function without a DLQ: test_raw_provider_handlers_are_checked
                for finding in outcome if isinstance(outcome, list) else [""]:
                    found.add((rest, f"{rule.suffix}[{finding}]" if finding else rule.suffix))
    open_to_the_internet = not platform.configs[stage].edge.enabled
    networks = [
        stack.node.id for stack in platform.stacks(stage) if isinstance(stack, NetworkStack) and open_to_the_internet
    ]
    expected = {
        (f"{network}/SecurityGroups/Alb/Resource", f"OpenIngress[tcp:{port}]")
        for network in networks
        for port in (80, 443)
    } | {
        (f"{stack.node.id}/Karpenter/InterruptionQueue/Resource", "SqsDlq")
        for stack in platform.stacks(stage)
        if isinstance(stack, PlatformComputeStack)
    }
    assert found == expected
    assert len(RULE_IDS) == 11


def test_raw_provider_handlers_are_checked(platform: SynthesizedPlatform, stage: str) -> None:
    """The Platform pack's Lambda rules reach the functions CDK's providers write raw (cdk-nag's do not):
    every one in the stage's templates is found (and, by the tests above, acknowledged)."""
    raw, found = set(), set()
    for path in platform.stage_template_files(stage):
        template = json.loads(path.read_text())
        findings = template_findings(template)
        for logical_id, resource in template["Resources"].items():
            construct_path = resource["Metadata"]["aws:cdk:path"]
            if resource["Type"] == "AWS::Lambda::Function" and "CustomResourceProvider/" in construct_path:
                raw.add(construct_path)
                if any(rule.suffix == "LambdaDLQ" for rule, _ in findings.get(logical_id, [])):
                    found.add(construct_path)
    assert raw and found == raw
