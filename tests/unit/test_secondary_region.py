"""Every secondary region (issue: every region a working copy): its network, replicas, Aurora secondary and
the Transit Gateway peering of every pair of regions."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from environments.schema.network import subnet_cidrs, tier_blocks
from environments.schema.regions import RegionConfig
from stacks.stage import PlatformStage
from tests.support import logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform

SECONDARIES = ("eu-west-1", "ap-southeast-1")
"""The example prod's secondary regions (seed 000)."""


def _region(examples: SynthesizedPlatform, region: str) -> RegionConfig:
    return next(r for r in examples.configs["prod"].regions if r.region == region)


def test_prod_runs_seed_000s_three_regions(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    assert [(r.region, r.cidr, r.role) for r in config.regions] == [
        ("us-east-1", "10.0.0.0/16", "active"),
        ("eu-west-1", "10.1.0.0/16", "active"),
        ("ap-southeast-1", "10.2.0.0/16", "standby"),
    ]
    assert [r.region for r in config.secondaries] == list(SECONDARIES)


@pytest.mark.parametrize("region", SECONDARIES)
def test_prod_has_a_network_in_each_secondary_region(examples: SynthesizedPlatform, region: str) -> None:
    secondary = _region(examples, region)
    network = examples.stages["prod"].networks[region]
    assert (network.region, network.stack_name) == (region, f"prod-network-{region}")
    assert network.availability_zones == list(secondary.availability_zones)
    template = examples.template_json("prod", f"network-{region}")
    (vpc,) = props(template, "AWS::EC2::VPC")
    assert vpc["CidrBlock"] == secondary.cidr
    subnets = props(template, "AWS::EC2::Subnet")
    assert len(subnets) == 9
    assert {s["AvailabilityZone"] for s in subnets} == set(secondary.availability_zones)
    assert sorted(s["CidrBlock"] for s in subnets) == sorted(
        cidr for tier in ("public", "app", "data") for cidr in subnet_cidrs(secondary.cidr, tier, 20, 3)
    )
    assert props(template, "AWS::WAFv2::WebACL")[0]["Scope"] == "REGIONAL"


def test_single_region_stages_build_only_the_primary_stacks(examples: SynthesizedPlatform) -> None:
    """dev and staging have one region: the stacks (and, by their snapshots, the templates) they had."""
    for stage in ("dev", "staging"):
        built: PlatformStage = examples.stages[stage]
        assert list(built.networks) == [examples.configs[stage].region]
        assert not built.replicas and not built.database_replicas and not built.peerings
        assert {s.node.id for s in examples.stacks(stage)} == {
            "network", "data", "analytics", "platform", "ai", "observability"
        }  # fmt: skip


@pytest.mark.parametrize("region", SECONDARIES)
def test_marked_tables_are_global_tables_with_a_replica_in_each_region(
    examples: SynthesizedPlatform, region: str
) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    replica_stack = stage.replicas[region]
    assert replica_stack.region == region
    replica_key = logical_id(replica_stack.keys.dynamodb)
    template = examples.template_json("prod", "data")
    for table in (stage.data.tables.conversations, stage.data.tables.sessions):
        replicas = template["Resources"][logical_id(table)]["Properties"]["Replicas"]
        assert sorted(r["Region"] for r in replicas) == sorted(r.region for r in config.regions)
        (remote,) = [r for r in replicas if r["Region"] == region]
        assert replica_key in output_of(remote["SSESpecification"]["KMSMasterKeyId"])
        assert remote["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert remote["DeletionProtectionEnabled"] is True
    for other in ("dev", "staging"):
        tables = props(examples.template_json(other, "data"), "AWS::DynamoDB::GlobalTable")
        assert all(len(t["Replicas"]) == 1 for t in tables)


@pytest.mark.parametrize("region", SECONDARIES)
def test_marked_buckets_replicate_to_named_encrypted_replicas_with_their_lifecycle(
    examples: SynthesizedPlatform, region: str
) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    replica_stack = stage.replicas[region]
    data = examples.template_json("prod", "data")
    replicas = examples.template_json("prod", f"data-{region}")
    replica_key = logical_id(replica_stack.keys.storage)
    for name in config.recovery.replicate_buckets:
        source = data["Resources"][logical_id(getattr(stage.data.buckets, name))]["Properties"]
        rules = source["ReplicationConfiguration"]["Rules"]
        assert sorted(r["Priority"] for r in rules) == list(range(1, len(config.secondaries) + 1))
        slug = {"knowledge_documents": "knowledge-docs", "user_uploads": "uploads"}.get(name, name)
        replica_name = f"ai-platform-prod-{slug}-333333333333-{region}"
        (rule,) = [r for r in rules if json.dumps(r["Destination"]["Bucket"]).endswith(f':::{replica_name}"')]
        assert replica_key in output_of(rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"])
        assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"
        assert rule["DeleteMarkerReplication"]["Status"] == "Enabled"
        replica = replicas["Resources"][logical_id(replica_stack.replica_buckets[name])]
        assert replica["Properties"]["BucketName"] == replica_name
        assert replica["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
        assert replica["DeletionPolicy"] == "Retain"
        # A failover keeps the retention the source had: the same lifecycle rules on the replica.
        assert replica["Properties"].get("LifecycleConfiguration") == source.get("LifecycleConfiguration")
        assert replica["Properties"].get("IntelligentTieringConfigurations") == source.get(
            "IntelligentTieringConfigurations"
        )
    unmarked = data["Resources"][logical_id(stage.data.buckets.document_chunks)]["Properties"]
    assert "ReplicationConfiguration" not in unmarked
    assert all(
        "ReplicationConfiguration" not in p for p in props(examples.template_json("dev", "data"), "AWS::S3::Bucket")
    )


@pytest.mark.parametrize("region", SECONDARIES)
def test_aurora_global_database_with_a_secondary_in_each_region(examples: SynthesizedPlatform, region: str) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    data = examples.template_json("prod", "data")
    (global_cluster,) = props(data, "AWS::RDS::GlobalCluster")
    assert global_cluster["GlobalClusterIdentifier"] == "ai-platform-prod-postgres-global"
    assert global_cluster["SourceDBClusterIdentifier"].endswith(":cluster:ai-platform-prod-postgres")
    assert global_cluster["DeletionProtection"] is True
    secondary_stack = stage.database_replicas[region]
    assert secondary_stack.region == region
    secondary = examples.template_json("prod", f"database-{region}")
    (cluster_resource,) = [r for r in secondary["Resources"].values() if r["Type"] == "AWS::RDS::DBCluster"]
    cluster = cluster_resource["Properties"]
    assert "GlobalClusterIdentifier" in json.dumps(cluster)
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("aurora-postgresql", config.data.database.engine_version)
    assert cluster["StorageEncrypted"] is True and cluster["EnableIAMDatabaseAuthentication"] is True
    assert cluster["DeletionProtection"] is True and cluster_resource["DeletionPolicy"] == "Snapshot"
    assert logical_id(stage.networks[region].security_groups.postgres) in output_of(cluster["VpcSecurityGroupIds"][0])
    (parameters,) = props(secondary, "AWS::RDS::DBClusterParameterGroup")
    assert parameters["Parameters"] == {"rds.force_ssl": "1"}
    # an active region reads (and fails over) through its own instance; a standby's secondary is headless
    readers = props(secondary, "AWS::RDS::DBInstance")
    role = next(r.role for r in config.secondaries if r.region == region)
    assert [reader["DBInstanceClass"] for reader in readers] == (["db.serverless"] if role == "active" else [])
    for other in ("dev", "staging"):
        assert not examples.stages[other].database_replicas
        assert not props(examples.template_json(other, "data"), "AWS::RDS::GlobalCluster")


def test_each_region_has_a_transit_gateway_routing_every_other_vpc(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    for index, region in enumerate(config.regions):
        stack = "network" if index == 0 else f"network-{region.region}"
        network = stage.networks[region.region]
        own_cidr, asn = region.cidr, region.transit_gateway_asn
        assert network.transit_hub is not None
        template = examples.template_json("prod", stack)
        ((gateway_id, gateway),) = resources(template, "AWS::EC2::TransitGateway").items()
        assert gateway["Properties"]["AmazonSideAsn"] == asn
        # Nothing joins the routing domain by default: attachments are associated on purpose.
        assert gateway["Properties"]["DefaultRouteTableAssociation"] == "disable"
        assert gateway["Properties"]["DefaultRouteTablePropagation"] == "disable"
        assert gateway["Properties"]["AutoAcceptSharedAttachments"] == "disable"
        (attachment,) = props(template, "AWS::EC2::TransitGatewayVpcAttachment")
        app_subnets = {logical_id(s) for s in network.app_subnets.subnets}
        assert {ref_id(s) for s in attachment["SubnetIds"]} == app_subnets
        (association,) = props(template, "AWS::EC2::TransitGatewayRouteTableAssociation")
        (propagation,) = props(template, "AWS::EC2::TransitGatewayRouteTablePropagation")
        assert ref_id(association["TransitGatewayRouteTableId"]) == ref_id(propagation["TransitGatewayRouteTableId"])
        # The app tier routes every peer VPC to the gateway; the data tier gets no route out.
        app_route_tables = {
            ref_id(a["RouteTableId"])
            for a in props(template, "AWS::EC2::SubnetRouteTableAssociation")
            if ref_id(a["SubnetId"]) in app_subnets
        }
        for peer in config.regions:
            if peer == region:
                continue
            routes = props(template, "AWS::EC2::Route")
            peer_routes = [r for r in routes if r.get("DestinationCidrBlock") == peer.cidr]
            assert len(peer_routes) == len(app_subnets)
            assert all(ref_id(r["TransitGatewayId"]) == gateway_id for r in peer_routes)
            assert {ref_id(r["RouteTableId"]) for r in peer_routes} == app_route_tables
        (vpc,) = props(template, "AWS::EC2::VPC")
        assert vpc["CidrBlock"] == own_cidr


def test_peer_app_tier_reaches_workloads_and_nothing_else(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    (service_ports,) = examples.stages["prod"].network.service_ports  # seed 002's 8001-8005, seed 001's 8006
    assert service_ports == (8001, 8006)
    pairs = [(first, second) for first in config.regions for second in config.regions if first != second]
    for own, peer in pairs:
        peer_app = str(tier_blocks(peer.cidr)["app"])
        template = examples.template_json("prod", "network" if own == config.primary else f"network-{own.region}")
        entries = [e for e in props(template, "AWS::EC2::NetworkAclEntry") if e["CidrBlock"] == peer_app]
        assert [(e["Egress"], e["PortRange"], e["RuleAction"]) for e in entries] == [
            (False, {"From": service_ports[0], "To": service_ports[1]}, "allow")
        ]
        rules = [
            rule
            for group in props(template, "AWS::EC2::SecurityGroup")
            for rule in group.get("SecurityGroupIngress", [])
            if rule.get("CidrIp") == peer_app
        ]
        assert [(r["FromPort"], r["ToPort"]) for r in rules] == [service_ports]
    for other in ("dev", "staging"):
        assert not props(examples.template_json(other, "network"), "AWS::EC2::TransitGateway")


@pytest.mark.parametrize("pair", list(combinations(("us-east-1", *SECONDARIES), 2)), ids="-".join)
def test_peering_is_requested_accepted_then_routed_in_that_order(
    examples: SynthesizedPlatform, pair: tuple[str, str]
) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    requester, accepter = (_region(examples, region) for region in pair)
    (request, accept, routes) = next(p for p in stage.peerings if (p[0].region, p[1].region) == pair)
    assert (request.region, accept.region, routes.region) == (requester.region, accepter.region, requester.region)
    # `cdk deploy 'prod/*'` follows stack dependencies: both networks, request, accept, then routes.
    assert {stage.networks[requester.region], stage.networks[accepter.region]} <= set(request.dependencies)
    assert request in accept.dependencies and accept in routes.dependencies

    name = "-".join(pair)
    (peering,) = props(examples.template_json("prod", f"peering-{name}"), "AWS::EC2::TransitGatewayPeeringAttachment")
    assert (peering["PeerRegion"], peering["PeerAccountId"]) == (accepter.region, config.account)
    # The peer's gateway ID crosses regions through CDK's cross-region references.
    assert "TransitGateway" in json.dumps(peering["PeerTransitGatewayId"])

    accepter_template = examples.template_json("prod", f"peering-accept-{name}")
    ((acceptance_id, acceptance),) = resources(accepter_template, "Custom::TransitGatewayPeeringAcceptance").items()
    assert set(acceptance["Properties"]) >= {
        "AttachmentId",
        "RequesterTransitGatewayId",
        "AccepterTransitGatewayId",
    }
    (waiter,) = props(accepter_template, "AWS::StepFunctions::StateMachine")
    assert waiter["LoggingConfiguration"]["Level"] == "ALL"
    routes_template = examples.template_json("prod", f"peering-routes-{name}")
    for template, peer_cidr in ((accepter_template, requester.cidr), (routes_template, accepter.cidr)):
        ((association_id, _),) = resources(template, "AWS::EC2::TransitGatewayRouteTableAssociation").items()
        (route,) = resources(template, "AWS::EC2::TransitGatewayRoute").values()
        assert route["Properties"]["DestinationCidrBlock"] == peer_cidr
        assert route["DependsOn"] == [association_id]
    # The accepting side routes through the attachment ID the acceptance reports, once it is available.
    (accepted_route,) = props(accepter_template, "AWS::EC2::TransitGatewayRoute")
    assert accepted_route["TransitGatewayAttachmentId"] == {"Fn::GetAtt": [acceptance_id, "AttachmentId"]}


def test_every_backup_plan_copies_to_a_locked_vault_in_each_secondary_region(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    plans = props(examples.template_json("prod", "data"), "AWS::Backup::BackupPlan")
    assert len(plans) == 2
    for plan in plans:
        (rule,) = plan["BackupPlan"]["BackupPlanRule"]
        copies = rule["CopyActions"]
        assert {c["DestinationBackupVaultArn"]["Fn::GetStackOutput"]["Region"] for c in copies} == set(SECONDARIES)
        # Copies are kept as long as the originals.
        assert {c["Lifecycle"]["DeleteAfterDays"] for c in copies} == {rule["Lifecycle"]["DeleteAfterDays"]}
    for region in SECONDARIES:
        vault_id = logical_id(stage.replicas[region].backup_vault)
        vault = examples.template_json("prod", f"data-{region}")["Resources"][vault_id]
        assert vault["Properties"]["LockConfiguration"]["MinRetentionDays"] == 7  # config.data.backup.vault_lock
        assert vault["DeletionPolicy"] == "Retain"
        assert logical_id(stage.replicas[region].keys.storage) in json.dumps(vault["Properties"]["EncryptionKeyArn"])
    assert config.data.backup.vault_lock
    for other in ("dev", "staging"):
        for plan in props(examples.template_json(other, "data"), "AWS::Backup::BackupPlan"):
            assert "CopyActions" not in plan["BackupPlan"]["BackupPlanRule"][0]


def test_the_models_file_system_replicates_to_the_first_secondary_region(examples: SynthesizedPlatform) -> None:
    """EFS replicates to one destination: the first secondary; every other region has its own (filled from the
    models bucket's replica there)."""
    stage = examples.stages["prod"]
    first, *rest = SECONDARIES
    replica = stage.replicas[first].file_system
    assert stage.replicas[first].models_replica and not any(stage.replicas[region].models_replica for region in rest)
    for region in rest:
        (own,) = props(examples.template_json("prod", f"data-{region}"), "AWS::EFS::FileSystem")
        assert "ReplicationOverwriteProtection" not in json.dumps(own)
    (source,) = props(examples.template_json("prod", "data"), "AWS::EFS::FileSystem")
    (destination,) = source["ReplicationConfiguration"]["Destinations"]
    assert destination["Region"] == first
    assert logical_id(replica.file_system) in output_of(destination["FileSystemId"])
    target = examples.template_json("prod", f"data-{first}")["Resources"][logical_id(replica.file_system)]
    assert target["Properties"]["FileSystemProtection"]["ReplicationOverwriteProtection"] == "DISABLED"
    assert target["Properties"]["Encrypted"] is True and target["DeletionPolicy"] == "Retain"
    assert "models" in examples.configs["prod"].recovery.replicate_buckets


@pytest.mark.parametrize("region", SECONDARIES)
def test_each_secondary_region_runs_the_platform(examples: SynthesizedPlatform, region: str) -> None:
    """EKS named for the region, the pools by the region's role, the ingress load balancer, and the tenants
    bound to the workload roles the primary region made, which a managed policy per role grants this region's
    stores."""
    config, stage = examples.configs["prod"], examples.stages["prod"]
    secondary = _region(examples, region)
    platform = stage.platforms[region]
    assert (platform.region, platform.stack_name) == (region, f"prod-platform-{region}")
    template = examples.template_json("prod", f"platform-{region}")
    (cluster,) = props(template, "AWS::EKS::Cluster")
    assert cluster["Name"] == f"{config.tags.project}-prod-{region}"
    minimums = sorted(group["ScalingConfig"]["MinSize"] for group in props(template, "AWS::EKS::Nodegroup"))
    keeps = {
        group.name for group in config.platform.node_groups if secondary.role == "active" or group.name == "system"
    }
    expected = sorted(group.min_size for group in config.platform.node_groups if group.min_size and group.name in keeps)
    assert minimums == expected
    assert len(props(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")) == 1
    roles = {logical_id(stage.data.workload_roles.app_role), logical_id(stage.data.workload_roles.gpu_role)}
    associations = props(template, "AWS::EKS::PodIdentityAssociation")
    bound = {
        a["RoleArn"]["Fn::GetStackOutput"]["OutputName"] for a in associations if "Fn::GetStackOutput" in a["RoleArn"]
    }
    assert all(any(role in output for output in bound) for role in roles), bound
    policies = [p for p in props(template, "AWS::IAM::ManagedPolicy") if "Fn::GetStackOutput" in json.dumps(p["Roles"])]
    assert len(policies) == 2  # RegionalWorkloadAccess: App and Gpu
    text = json.dumps(policies)
    assert f"arn:aws:secretsmanager:{region}:" in text and f"-{region}/*" in text  # secret and bucket replicas
    assert "rds-db:connect" in text and "dynamodb:GetItem" in text


@pytest.mark.parametrize("region", SECONDARIES)
def test_each_secondary_region_watches_its_own_platform(examples: SynthesizedPlatform, region: str) -> None:
    stage = examples.stages["prod"]
    template = examples.template_json("prod", f"observability-{region}")
    assert len(props(template, "AWS::SNS::Topic")) == 2  # critical and warning
    alarms = props(template, "AWS::CloudWatch::Alarm")
    lag = [a for a in alarms if a.get("MetricName") == "AuroraGlobalDBReplicationLag"]
    cluster = logical_id(stage.database_replicas[region].cluster)
    assert len(lag) == 2 and all(cluster in json.dumps(a["Dimensions"]) for a in lag)
    assert not props(template, "AWS::CloudTrail::Trail") and not props(template, "AWS::Budgets::Budget")
    dashboards = props(template, "AWS::CloudWatch::Dashboard")
    assert dashboards and all(region in json.dumps(d["DashboardName"]) for d in dashboards)


@pytest.mark.parametrize("region", SECONDARIES)
def test_each_active_secondary_region_runs_its_own_lake(examples: SynthesizedPlatform, region: str) -> None:
    """An active region runs the analytics stack on its own keys, its ECS jobs beside it reading the secrets'
    replicas there by complete ARN, and the lake's alarms; a standby region runs none of it."""
    stage, secondary = examples.stages["prod"], _region(examples, region)
    names = {s.node.id for s in examples.stacks("prod")}
    if secondary.role == "standby":
        assert f"analytics-{region}" not in names and region not in stage.analytics_stacks
        assert stage.platforms[region].jobs is None
        return
    analytics = stage.analytics_stacks[region]
    assert (analytics.region, analytics.stack_name) == (region, f"prod-analytics-{region}")
    template = examples.template_json("prod", f"analytics-{region}")
    for kind in ("AWS::Kinesis::Stream", "AWS::MSK::Cluster", "AWS::OpenSearchService::Domain", "AWS::Glue::Database"):
        assert len(props(template, kind)) == 1, kind
    keys = stage.replicas[region].keys
    (stream,) = props(template, "AWS::Kinesis::Stream")
    assert output_of(stream["StreamEncryption"]["KeyId"]).startswith("PublishOutput")  # the region's key
    assert logical_id(keys.messaging) in output_of(stream["StreamEncryption"]["KeyId"])
    # The app role's grants here, in one policy attached by the role's name from the primary region
    shared = [p for p in props(template, "AWS::IAM::ManagedPolicy") if "Fn::GetStackOutput" in json.dumps(p["Roles"])]
    assert len(shared) == 1
    sids = [statement["Sid"] for statement in shared[0]["PolicyDocument"]["Statement"]]
    assert sids == ["PutRecords", "StreamKey", "Cluster", "Topics", "Groups", "Http"]
    platform = examples.template_json("prod", f"platform-{region}")
    (task,) = [t for t in props(platform, "AWS::ECS::TaskDefinition") if t["ContainerDefinitions"][0].get("Secrets")]
    (secret,) = task["ContainerDefinitions"][0]["Secrets"]
    arn = json.dumps(secret["ValueFrom"])
    assert f"arn:aws:secretsmanager:{region}:" in arn and "ServiceNowOAuthReplicaName" in arn
    assert "Fn::Split" not in arn  # CloudFormation splits no value read from another stack: the primary does
    alarms = json.dumps(props(examples.template_json("prod", f"observability-{region}"), "AWS::CloudWatch::Alarm"))
    assert "IncomingRecords" in alarms or "GetRecords" in alarms
    assert "-Lake-" in alarms
