"""The secondary region (issue: edge and multiple regions, the network part)."""

from __future__ import annotations

import json

from environments.schema.network import subnet_cidrs, tier_blocks
from tests.support import logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform


def test_prod_has_a_network_in_its_secondary_region(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    network = examples.stages["prod"].network_dr
    assert network is not None
    assert (network.region, network.stack_name) == ("eu-west-1", "prod-network-dr")  # seed 000
    assert network.availability_zones == list(config.dr.availability_zones)
    template = examples.template_json("prod", "network-dr")
    (vpc,) = props(template, "AWS::EC2::VPC")
    assert vpc["CidrBlock"] == "10.1.0.0/16"
    subnets = props(template, "AWS::EC2::Subnet")
    assert len(subnets) == 9
    assert {s["AvailabilityZone"] for s in subnets} == set(config.dr.availability_zones)
    assert sorted(s["CidrBlock"] for s in subnets) == sorted(
        cidr for tier in ("public", "app", "data") for cidr in subnet_cidrs("10.1.0.0/16", tier, 20, 3)
    )
    assert props(template, "AWS::WAFv2::WebACL")[0]["Scope"] == "REGIONAL"


def test_only_stages_with_dr_get_one(examples: SynthesizedPlatform) -> None:
    for stage in examples.configs:
        assert (examples.stages[stage].network_dr is not None) is examples.configs[stage].dr.enabled


def test_marked_tables_are_global_tables_with_a_replica_there(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    assert stage.data_dr is not None and stage.data_dr.region == config.dr.region
    replica_key = logical_id(stage.data_dr.replica_key)
    template = examples.template_json("prod", "data")
    for table in (stage.data.tables.conversations, stage.data.tables.sessions):
        replicas = template["Resources"][logical_id(table)]["Properties"]["Replicas"]
        assert sorted(r["Region"] for r in replicas) == sorted([config.region, config.dr.region])
        (remote,) = [r for r in replicas if r["Region"] == config.dr.region]
        assert replica_key in output_of(remote["SSESpecification"]["KMSMasterKeyId"])
        assert remote["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert remote["DeletionProtectionEnabled"] is True
    for other in ("dev", "staging"):
        tables = props(examples.template_json(other, "data"), "AWS::DynamoDB::GlobalTable")
        assert all(len(t["Replicas"]) == 1 for t in tables)


def test_marked_buckets_replicate_to_named_encrypted_replicas(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    assert stage.data_dr is not None
    data = examples.template_json("prod", "data")
    replica_stack = examples.template_json("prod", "data-dr")
    replica_key = logical_id(stage.data_dr.replica_key)
    for name in config.dr.replicate_buckets:
        source = data["Resources"][logical_id(getattr(stage.data.buckets, name))]["Properties"]
        (rule,) = source["ReplicationConfiguration"]["Rules"]
        replica_name = f"ai-platform-prod-{name.replace('_', '-')}-333333333333-eu-west-1"
        assert json.dumps(rule["Destination"]["Bucket"]).endswith(f':::{replica_name}"')
        assert replica_key in output_of(rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"])
        assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"
        assert rule["DeleteMarkerReplication"]["Status"] == "Enabled"
        replica = replica_stack["Resources"][logical_id(stage.data_dr.replica_buckets[name])]
        assert replica["Properties"]["BucketName"] == replica_name
        assert replica["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
        assert replica["DeletionPolicy"] == "Retain"
    unmarked = data["Resources"][logical_id(stage.data.buckets.document_chunks)]["Properties"]
    assert "ReplicationConfiguration" not in unmarked
    assert all(
        "ReplicationConfiguration" not in p for p in props(examples.template_json("dev", "data"), "AWS::S3::Bucket")
    )


def test_aurora_global_database_with_a_secondary_there(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    data = examples.template_json("prod", "data")
    (global_cluster,) = props(data, "AWS::RDS::GlobalCluster")
    assert global_cluster["GlobalClusterIdentifier"] == "ai-platform-prod-postgres-global"
    assert global_cluster["SourceDBClusterIdentifier"].endswith(":cluster:ai-platform-prod-postgres")
    assert global_cluster["DeletionProtection"] is True
    secondary_stack = stage.database_dr
    assert secondary_stack is not None and secondary_stack.region == config.dr.region
    secondary = examples.template_json("prod", "database-dr")
    (cluster_resource,) = [r for r in secondary["Resources"].values() if r["Type"] == "AWS::RDS::DBCluster"]
    cluster = cluster_resource["Properties"]
    assert "GlobalClusterIdentifier" in json.dumps(cluster)
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("aurora-postgresql", config.data.database.engine_version)
    assert cluster["StorageEncrypted"] is True and cluster["EnableIAMDatabaseAuthentication"] is True
    assert cluster["DeletionProtection"] is True and cluster_resource["DeletionPolicy"] == "Snapshot"
    assert logical_id(stage.network_dr.security_groups.postgres) in output_of(cluster["VpcSecurityGroupIds"][0])  # type: ignore[union-attr]
    (parameters,) = props(secondary, "AWS::RDS::DBClusterParameterGroup")
    assert parameters["Parameters"] == {"rds.force_ssl": "1"}
    (reader,) = props(secondary, "AWS::RDS::DBInstance")
    assert reader["DBInstanceClass"] == "db.serverless"
    for other in ("dev", "staging"):
        assert examples.stages[other].database_dr is None
        assert not props(examples.template_json(other, "data"), "AWS::RDS::GlobalCluster")


def test_each_region_has_a_transit_gateway_routing_the_other_vpc(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    for stack, own_cidr, peer_cidr, asn in (
        ("network", config.network.cidr, config.dr.cidr, config.network.transit_gateway_asn),
        ("network-dr", config.dr.cidr, config.network.cidr, config.dr.transit_gateway_asn),
    ):
        network = stage.network if stack == "network" else stage.network_dr
        assert network is not None and network.transit_hub is not None
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
        # The app tier routes the peer VPC to the gateway; the data tier gets no route out.
        peer_routes = [r for r in props(template, "AWS::EC2::Route") if r.get("DestinationCidrBlock") == peer_cidr]
        assert len(peer_routes) == len(app_subnets)
        assert all(ref_id(r["TransitGatewayId"]) == gateway_id for r in peer_routes)
        app_route_tables = {
            ref_id(a["RouteTableId"])
            for a in props(template, "AWS::EC2::SubnetRouteTableAssociation")
            if ref_id(a["SubnetId"]) in app_subnets
        }
        assert {ref_id(r["RouteTableId"]) for r in peer_routes} == app_route_tables
        (vpc,) = props(template, "AWS::EC2::VPC")
        assert vpc["CidrBlock"] == own_cidr


def test_peer_app_tier_reaches_workloads_and_nothing_else(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    (service_ports,) = examples.stages["prod"].network.service_ports  # seed 002's 8001-8005, seed 001's 8006
    assert service_ports == (8001, 8006)
    for stack, peer_cidr in (("network", config.dr.cidr), ("network-dr", config.network.cidr)):
        peer_app = str(tier_blocks(peer_cidr)["app"])
        template = examples.template_json("prod", stack)
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


def test_peering_is_requested_accepted_then_routed_in_that_order(examples: SynthesizedPlatform) -> None:
    config = examples.configs["prod"]
    stage = examples.stages["prod"]
    assert stage.peering is not None
    request, accept, routes = stage.peering
    assert (request.region, accept.region, routes.region) == (config.region, config.dr.region, config.region)
    # `cdk deploy 'prod/*'` follows stack dependencies: both networks, request, accept, then routes.
    assert {stage.network, stage.network_dr} <= set(request.dependencies)
    assert request in accept.dependencies and accept in routes.dependencies

    (peering,) = props(examples.template_json("prod", "peering"), "AWS::EC2::TransitGatewayPeeringAttachment")
    assert (peering["PeerRegion"], peering["PeerAccountId"]) == (config.dr.region, config.account)
    # The peer's gateway ID crosses regions through CDK's cross-region references (SSM in eu-west-1).
    assert "TransitGateway" in json.dumps(peering["PeerTransitGatewayId"])

    accepter = examples.template_json("prod", "peering-dr")
    ((acceptance_id, acceptance),) = resources(accepter, "Custom::TransitGatewayPeeringAcceptance").items()
    assert set(acceptance["Properties"]) >= {
        "AttachmentId",
        "RequesterTransitGatewayId",
        "AccepterTransitGatewayId",
    }
    (waiter,) = props(accepter, "AWS::StepFunctions::StateMachine")
    assert waiter["LoggingConfiguration"]["Level"] == "ALL"
    routes_template = examples.template_json("prod", "peering-routes")
    for template, peer_cidr in ((accepter, config.network.cidr), (routes_template, config.dr.cidr)):
        ((association_id, _),) = resources(template, "AWS::EC2::TransitGatewayRouteTableAssociation").items()
        (route,) = resources(template, "AWS::EC2::TransitGatewayRoute").values()
        assert route["Properties"]["DestinationCidrBlock"] == peer_cidr
        assert route["DependsOn"] == [association_id]
    # The secondary side routes through the attachment ID the acceptance reports, once it is available.
    (accepted_route,) = props(accepter, "AWS::EC2::TransitGatewayRoute")
    assert accepted_route["TransitGatewayAttachmentId"] == {"Fn::GetAtt": [acceptance_id, "AttachmentId"]}
