"""The data stack, per stage, at the level of template properties (issue: data stack)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import aws_kms as kms
from constructs import IConstruct
from constructs.data.data_keys import KEY_PURPOSES
from constructs.data.messaging import TOPICS

from stacks.data import DataStack
from tests.support import logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform

DAY = 86400


def data_stack(examples: SynthesizedPlatform, stage: str) -> DataStack:
    return examples.stages[stage].data


def data(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "data")


def network_output(value: Any, construct: IConstruct | None) -> bool:
    """True if `value` is a weak reference to the network stack's output for `construct`."""
    assert construct is not None, "the network stack made no such construct"
    return logical_id(construct) in output_of(value)


# --- keys ---------------------------------------------------------------------------------------------


def test_key_strategy(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = data(examples, stage)
    keys = resources(template, "AWS::KMS::Key")
    aliases = sorted(p["AliasName"] for p in props(template, "AWS::KMS::Alias"))
    prefix = f"alias/{config.tags.project}/{stage}"
    if config.kms.key_strategy == "shared":
        assert len(keys) == 1
        assert aliases == [f"{prefix}/shared"]
    else:
        assert len(keys) == len(KEY_PURPOSES) == 8
        assert aliases == sorted(f"{prefix}/{purpose}" for purpose in KEY_PURPOSES)
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["Properties"]["PendingWindowInDays"] == config.kms.deletion_window_days
    assert {stage: config.kms.key_strategy for stage, config in examples.configs.items()} == {
        "dev": "shared",
        "staging": "per_service",
        "prod": "per_service",
    }


def test_keys_are_exposed_by_purpose(examples: SynthesizedPlatform, stage: str) -> None:
    keys = data_stack(examples, stage).keys
    by_purpose = {purpose: getattr(keys, purpose) for purpose in KEY_PURPOSES}
    assert all(isinstance(key, kms.Key) for key in by_purpose.values())
    distinct = {logical_id(key) for key in by_purpose.values()}
    assert len(distinct) == (1 if examples.configs[stage].kms.key_strategy == "shared" else 8)


# --- PostgreSQL ---------------------------------------------------------------------------------------


def test_postgres_engine_and_placement(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].data.database
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    if config.engine == "rds":
        (db,) = props(template, "AWS::RDS::DBInstance")
        assert db["Engine"] == "postgres"
        assert db["MultiAZ"] is (config.rds is not None and config.rds.multi_az)
        assert db["PubliclyAccessible"] is False
        assert db["BackupRetentionPeriod"] == config.backup_retention_days
        assert db["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
        parameter_groups = props(template, "AWS::RDS::DBParameterGroup")
    else:
        (db,) = props(template, "AWS::RDS::DBCluster")
        assert db["Engine"] == "aurora-postgresql"
        assert config.aurora is not None
        assert db["ServerlessV2ScalingConfiguration"] == {
            "MinCapacity": config.aurora.min_capacity_acu,
            "MaxCapacity": config.aurora.max_capacity_acu,
        }
        instances = props(template, "AWS::RDS::DBInstance")
        assert len(instances) == 1 + config.aurora.readers
        assert {i["DBInstanceClass"] for i in instances} == {"db.serverless"}
        assert db["BackupRetentionPeriod"] == config.backup_retention_days
        parameter_groups = props(template, "AWS::RDS::DBClusterParameterGroup")
    assert db["EngineVersion"] == config.engine_version
    assert int(config.engine_version.split(".")[0]) in (17, 18)
    assert db["StorageEncrypted"] is True
    assert ref_id(db["KmsKeyId"]) == logical_id(stack.keys.rds)
    assert db["EnableIAMDatabaseAuthentication"] is True
    assert db["DeletionProtection"] is (stage != "dev")
    (parameters,) = parameter_groups
    assert parameters["Parameters"] == {"rds.force_ssl": "1"}
    (subnet_group,) = props(template, "AWS::RDS::DBSubnetGroup")
    network = examples.stages[stage].network
    assert len(subnet_group["SubnetIds"]) == 3
    for subnet_ref, subnet in zip(subnet_group["SubnetIds"], network.data_subnets.subnets, strict=True):
        assert network_output(subnet_ref, subnet)


def test_postgres_prod_protection_and_insight(examples: SynthesizedPlatform) -> None:
    template = data(examples, "prod")
    (cluster,) = resources(template, "AWS::RDS::DBCluster").values()
    assert (cluster["DeletionPolicy"], cluster["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert cluster["Properties"]["BackupRetentionPeriod"] == 30  # seed 001
    for instance in props(template, "AWS::RDS::DBInstance"):
        assert instance["EnablePerformanceInsights"] is True
        assert instance["MonitoringInterval"] == 60
    dev_instance = next(iter(resources(data(examples, "dev"), "AWS::RDS::DBInstance").values()))
    assert dev_instance["DeletionPolicy"] == "Delete"
    assert "MonitoringInterval" not in dev_instance["Properties"]


def test_postgres_credentials_rotate_every_30_days_and_stay_out_of_templates(
    examples: SynthesizedPlatform, stage: str
) -> None:
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    master = template["Resources"][logical_id(stack.database.master_secret)]
    assert master["Properties"]["Name"] == f"/ai-platform/{stage}/postgres-master"
    assert "GenerateSecretString" in master["Properties"]
    assert ref_id(master["Properties"]["KmsKeyId"]) == logical_id(stack.keys.secrets)
    assert master["DeletionPolicy"] == ("Delete" if stage == "dev" else "Retain")
    (rotation,) = props(template, "AWS::SecretsManager::RotationSchedule")
    assert rotation["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    assert all("SecretString" not in p for p in props(template, "AWS::SecretsManager::Secret"))


def test_proxy_requires_tls_and_iam_and_carries_the_postgres_group(examples: SynthesizedPlatform, stage: str) -> None:
    template = data(examples, stage)
    network = examples.stages[stage].network
    (proxy,) = props(template, "AWS::RDS::DBProxy")
    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["RequireTLS"] is True
    assert [auth["IAMAuth"] for auth in proxy["Auth"]] == ["REQUIRED"]
    (group,) = proxy["VpcSecurityGroupIds"]
    assert network_output(group, network.security_groups.postgres)

    database_group_id = logical_id(data_stack(examples, stage).database.security_group)
    ingress = [
        p for p in props(template, "AWS::EC2::SecurityGroupIngress") if ref_id(p["GroupId"]) == database_group_id
    ]
    sources = sorted(
        "proxy" if network_output(rule["SourceSecurityGroupId"], network.security_groups.postgres) else "rotation"
        for rule in ingress
    )
    assert sources == ["proxy", "rotation"]
    rotation_id = logical_id(data_stack(examples, stage).database.rotation_security_group)
    assert [ref_id(r["SourceSecurityGroupId"]) for r in ingress if "Ref" in r["SourceSecurityGroupId"]
            or "Fn::GetAtt" in r["SourceSecurityGroupId"]] == [rotation_id]  # fmt: skip


# --- cache --------------------------------------------------------------------------------------------


def test_valkey_cache(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].data.cache
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    (group_resource,) = resources(template, "AWS::ElastiCache::ReplicationGroup").values()
    group = group_resource["Properties"]
    assert group["Engine"] == "valkey"
    assert group["CacheNodeType"] == config.node_type
    if config.cluster_mode:  # seed 004: shards of a primary and its replicas, the cluster-enabled parameters
        assert "NumCacheClusters" not in group
        assert group["ClusterMode"] == "enabled"
        assert group["NumNodeGroups"] == config.cluster_mode.shards
        assert group["ReplicasPerNodeGroup"] == config.cluster_mode.replicas_per_shard
        assert group["CacheParameterGroupName"] == "default.valkey8.cluster.on"
    else:
        assert group["NumCacheClusters"] == config.nodes
        assert "NumNodeGroups" not in group and "CacheParameterGroupName" not in group
    assert group["AutomaticFailoverEnabled"] is config.automatic_failover
    assert group["MultiAZEnabled"] is config.automatic_failover
    assert group["TransitEncryptionEnabled"] is True
    assert group["TransitEncryptionMode"] == "required"
    assert group["AtRestEncryptionEnabled"] is True
    assert ref_id(group["KmsKeyId"]) == logical_id(stack.keys.cache)
    assert group["SnapshotRetentionLimit"] == config.snapshot_retention_days
    assert {c["LogType"] for c in group["LogDeliveryConfigurations"]} == {"slow-log", "engine-log"}
    assert network_output(group["SecurityGroupIds"][0], examples.stages[stage].network.security_groups.cache)
    token = json.dumps(group["AuthToken"])
    assert "{{resolve:secretsmanager:" in token and logical_id(stack.cache.auth_secret) in token
    expected = {
        "dev": ("cache.t4g.medium", 1, None, "Delete"),
        "staging": ("cache.t4g.medium", None, (2, 1), "Snapshot"),
        "prod": ("cache.r6g.large", None, (2, 2), "Snapshot"),
    }[stage]
    shards = (group["NumNodeGroups"], group["ReplicasPerNodeGroup"]) if "NumNodeGroups" in group else None
    found = (group["CacheNodeType"], group.get("NumCacheClusters"), shards, group_resource["DeletionPolicy"])
    assert found == expected


# --- DynamoDB -----------------------------------------------------------------------------------------


def test_tables(examples: SynthesizedPlatform, stage: str) -> None:
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    tables = resources(template, "AWS::DynamoDB::GlobalTable")
    conversations = tables[logical_id(stack.tables.conversations)]["Properties"]
    sessions = tables[logical_id(stack.tables.sessions)]["Properties"]

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in schema]

    assert keys(conversations["KeySchema"]) == [("userId", "HASH"), ("conversationId", "RANGE")]
    (by_created,) = conversations["GlobalSecondaryIndexes"]
    assert ("createdAt", "RANGE") in keys(by_created["KeySchema"])
    assert conversations["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert conversations["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert keys(sessions["KeySchema"]) == [("sessionId", "HASH")]
    (by_user,) = sessions["GlobalSecondaryIndexes"]
    assert keys(by_user["KeySchema"]) == [("userId", "HASH")]
    assert sessions["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    for table_id, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        (replica,) = [r for r in properties["Replicas"] if r["Region"] == examples.configs[stage].region]
        assert ref_id(replica["SSESpecification"]["KMSMasterKeyId"]) == logical_id(stack.keys.dynamodb)
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert replica["DeletionProtectionEnabled"] is (stage != "dev"), table_id
        assert table["DeletionPolicy"] == ("Delete" if stage == "dev" else "Retain")


# --- S3 -----------------------------------------------------------------------------------------------

BUCKETS = ("knowledge_documents", "document_chunks", "user_uploads", "backups", "audit_logs", "images", "models")


def _buckets(examples: SynthesizedPlatform, stage: str) -> dict[str, dict[str, Any]]:
    template = data(examples, stage)
    buckets = data_stack(examples, stage).buckets
    return {name: template["Resources"][logical_id(getattr(buckets, name))] for name in (*BUCKETS, "access_logs")}


def _rules(bucket: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}


def test_every_bucket_is_private_tls_only_and_tidy(examples: SynthesizedPlatform, stage: str) -> None:
    template = data(examples, stage)
    buckets = _buckets(examples, stage)
    # and, with the time series on, the bucket its engine logs are delivered to (test_time_series_database)
    extra = int(examples.configs[stage].data.time_series.enabled)
    assert len(resources(template, "AWS::S3::Bucket")) == len(buckets) + extra == 8 + extra
    policies = {ref_id(p["Bucket"]): p["PolicyDocument"]["Statement"] for p in props(template, "AWS::S3::BucketPolicy")}
    access_logs_id = logical_id(data_stack(examples, stage).buckets.access_logs)
    for name, bucket in buckets.items():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        bucket_id = next(k for k, v in buckets.items() if v is bucket)
        statements = policies[logical_id(getattr(data_stack(examples, stage).buckets, bucket_id))]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        ), name
        encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        if name == "access_logs":
            assert encryption == {"SSEAlgorithm": "AES256"}  # S3 logging targets must use SSE-S3
            assert "LoggingConfiguration" not in properties
        else:
            assert encryption["SSEAlgorithm"] == "aws:kms"
            assert ref_id(encryption["KMSMasterKeyID"]) == logical_id(data_stack(examples, stage).keys.storage)
            assert ref_id(properties["LoggingConfiguration"]["DestinationBucketName"]) == access_logs_id
        hygiene = _rules(bucket)["hygiene"]
        assert hygiene["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
        assert "NoncurrentVersionExpiration" in hygiene


def test_bucket_versioning_and_lifecycles_per_stage(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].data.buckets
    buckets = _buckets(examples, stage)

    def versioned(name: str) -> bool:
        return bool(buckets[name]["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled")

    assert versioned("knowledge_documents") and versioned("audit_logs")
    assert all(versioned(name) for name in buckets) is (stage != "dev")
    assert _rules(buckets["user_uploads"])["expire-uploads"]["ExpirationInDays"] == 90
    assert [
        (t["StorageClass"], t["TransitionInDays"]) for t in _rules(buckets["backups"])["tiering"]["Transitions"]
    ] == [
        ("STANDARD_IA", 30),
        ("GLACIER_IR", 90),
        ("DEEP_ARCHIVE", 180),
    ]
    images = [(t["StorageClass"], t["TransitionInDays"]) for t in _rules(buckets["images"])["tiering"]["Transitions"]]
    assert images == [(t.storage_class, t.after_days) for t in config.images_transitions]
    if stage == "prod":
        assert images == [("STANDARD_IA", 90), ("GLACIER", 180)]  # seed 002
    lock = buckets["audit_logs"]["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert lock == {"Mode": config.audit_logs_object_lock.mode, "Days": config.audit_logs_object_lock.retention_days}
    assert buckets["audit_logs"]["DeletionPolicy"] == "Retain"
    models = buckets["models"]["Properties"]
    assert models["IntelligentTieringConfigurations"][0]["Status"] == "Enabled"
    assert _rules(buckets["models"])["intelligent-tiering"]["Transitions"] == [
        {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}
    ]


def test_only_an_allow_destroy_stage_deletes_buckets(examples: SynthesizedPlatform, stage: str) -> None:
    template = data(examples, stage)
    buckets = _buckets(examples, stage)
    auto_delete = resources(template, "Custom::S3AutoDeleteObjects")
    if examples.configs[stage].allow_destroy:
        # every bucket but the object-locked audit logs, and InfluxDB's log bucket where it is on
        assert len(auto_delete) == 7 + int(examples.configs[stage].data.time_series.enabled)
    else:
        assert not auto_delete
        assert {b["DeletionPolicy"] for b in buckets.values()} == {"Retain"}


# --- EFS ----------------------------------------------------------------------------------------------


def test_shared_models_file_system(examples: SynthesizedPlatform, stage: str) -> None:
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    (file_system,) = props(template, "AWS::EFS::FileSystem")
    assert file_system["Encrypted"] is True
    assert ref_id(file_system["KmsKeyId"]) == logical_id(stack.keys.storage)
    assert {"TransitionToIA": "AFTER_30_DAYS"} in file_system["LifecyclePolicies"]
    targets = props(template, "AWS::EFS::MountTarget")
    assert len(targets) == 3
    efs_group = examples.stages[stage].network.security_groups.efs
    assert all(network_output(t["SecurityGroups"][0], efs_group) for t in targets)
    (access_point,) = props(template, "AWS::EFS::AccessPoint")
    assert access_point["RootDirectory"]["Path"] == "/models"


# --- secrets ------------------------------------------------------------------------------------------


def test_application_secrets(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    prefix = f"/{config.tags.project}/{stage}/"
    names = {p.get("Name"): p for p in props(template, "AWS::SecretsManager::Secret")}
    expected = {"anthropic-api-key", "openai-api-key", "servicenow-oauth", "slack-bot-token", "jwt-signing-key"}
    assert {f"{prefix}{name}" for name in expected} | {f"{prefix}cache-auth-token"} <= set(names)
    for name in expected:
        secret = names[f"{prefix}{name}"]
        assert ref_id(secret["KmsKeyId"]) == logical_id(stack.keys.secrets)
        assert "GenerateSecretString" in secret and "SecretString" not in secret
    assert json.loads(names[f"{prefix}servicenow-oauth"]["GenerateSecretString"]["SecretStringTemplate"]) == {
        "client_id": "replace-me"
    }


# --- messaging ----------------------------------------------------------------------------------------


def test_topics_fan_out_to_queues_with_dead_letter_queues(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].data.messaging
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    messaging_key = logical_id(stack.keys.messaging)
    queues = resources(template, "AWS::SQS::Queue")
    subscriptions = props(template, "AWS::SNS::Subscription")
    assert len(subscriptions) == len(TOPICS) == 4
    for name in TOPICS:
        topic = template["Resources"][logical_id(stack.messaging.topics[name])]["Properties"]
        assert ref_id(topic["KmsMasterKeyId"]) == messaging_key
        queue_id = logical_id(stack.messaging.queues[name])
        (subscription,) = [
            s for s in subscriptions if ref_id(s["TopicArn"]) == logical_id(stack.messaging.topics[name])
        ]
        assert subscription["Protocol"] == "sqs" and ref_id(subscription["Endpoint"]) == queue_id
        queue = queues[queue_id]["Properties"]
        assert queue["MessageRetentionPeriod"] == config.queue_retention_days * DAY
        assert ref_id(queue["KmsMasterKeyId"]) == messaging_key
        redrive = queue["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == config.max_receive_count
        dead_letter = queues[ref_id(redrive["deadLetterTargetArn"])]["Properties"]
        assert dead_letter["MessageRetentionPeriod"] == 14 * DAY  # seed 001
    assert {stage: c.data.messaging.queue_retention_days for stage, c in examples.configs.items()}["prod"] == 7
    queue_policies = props(template, "AWS::SQS::QueuePolicy")
    assert len(queue_policies) == len(queues)
    for policy in queue_policies:
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in policy["PolicyDocument"]["Statement"]
        )


def test_fifo_queue_event_bus_and_archive(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    fifo = template["Resources"][logical_id(stack.messaging.ordered_tasks)]["Properties"]
    assert fifo["FifoQueue"] is True
    dead_letter = template["Resources"][ref_id(fifo["RedrivePolicy"]["deadLetterTargetArn"])]["Properties"]
    assert dead_letter["FifoQueue"] is True
    (bus,) = props(template, "AWS::Events::EventBus")
    assert bus["Name"] == f"{config.tags.project}-{stage}"
    assert ref_id(bus["KmsKeyIdentifier"]) == logical_id(stack.keys.messaging)
    (archive,) = props(template, "AWS::Events::Archive")
    assert archive["RetentionDays"] == config.data.messaging.event_archive_retention_days


# --- backups ------------------------------------------------------------------------------------------


def test_backup_vault_and_plans(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].data.backup
    template = data(examples, stage)
    stack = data_stack(examples, stage)
    (vault,) = props(template, "AWS::Backup::BackupVault")
    assert ref_id(vault["EncryptionKeyArn"]) == logical_id(stack.keys.storage)
    assert ("LockConfiguration" in vault) is config.vault_lock
    assert config.vault_lock is (stage == "prod")
    plans = {
        p["BackupPlan"]["BackupPlanName"]: p["BackupPlan"]["BackupPlanRule"][0]
        for p in props(template, "AWS::Backup::BackupPlan")
    }
    daily = next(rule for name, rule in plans.items() if "Daily" in name)
    weekly = next(rule for name, rule in plans.items() if "Weekly" in name)
    assert daily["Lifecycle"]["DeleteAfterDays"] == config.daily_retention_days
    assert weekly["Lifecycle"]["DeleteAfterDays"] == 30  # seed 002
    assert "SUN" in weekly["ScheduleExpression"]
    selected = json.dumps(props(template, "AWS::Backup::BackupSelection"))
    database = stack.database.cluster or stack.database.instance
    assert database is not None
    for construct in (database, stack.tables.conversations, stack.tables.sessions, stack.file_system.file_system):
        assert logical_id(construct) in selected


def test_prod_keeps_every_stateful_resource(examples: SynthesizedPlatform) -> None:
    template = data(examples, "prod")
    stateful = (
        "AWS::KMS::Key", "AWS::RDS::DBCluster", "AWS::ElastiCache::ReplicationGroup", "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket", "AWS::EFS::FileSystem", "AWS::SecretsManager::Secret", "AWS::Backup::BackupVault",
        "AWS::Logs::LogGroup",
    )  # fmt: skip
    for resource_type in stateful:
        for logical, resource in resources(template, resource_type).items():
            assert resource.get("DeletionPolicy") in ("Retain", "Snapshot"), logical
    assert examples.stack("prod", "data").termination_protection is True


# --- the stores a stage turns on (seed 000): Neptune, Timestream for InfluxDB, DAX ----------------------


TOGGLED_TYPES = {
    "graph": ("AWS::Neptune::DBCluster", "AWS::Neptune::DBInstance", "AWS::Neptune::DBSubnetGroup"),
    "time_series": ("AWS::Timestream::InfluxDBInstance",),
    "accelerator": ("AWS::DAX::Cluster", "AWS::DAX::SubnetGroup", "AWS::DAX::ParameterGroup"),
}
TOGGLED_PORTS = {"graph": 8182, "time_series": 8086, "accelerator": 9111}


def _on(examples: SynthesizedPlatform, stage: str) -> dict[str, bool]:
    data_config = examples.configs[stage].data
    return {
        "graph": data_config.graph.mode != "off",
        "time_series": data_config.time_series.enabled,
        "accelerator": data_config.accelerator.enabled,
    }


def test_a_store_turned_off_leaves_no_trace(examples: SynthesizedPlatform, stage: str) -> None:
    """Off, a store has no resource, no security group, no port in the data ACL and no grant (dev: Neptune and DAX)."""
    template, network_template = data(examples, stage), examples.template_json(stage, "network")
    groups = examples.stages[stage].network.security_groups
    app_statements = json.dumps(props(template, "AWS::IAM::ManagedPolicy"))
    for store, on in _on(examples, stage).items():
        assert all(bool(resources(template, t)) is on for t in TOGGLED_TYPES[store]), store
        assert (getattr(groups, store) is not None) is on, store
        entries = props(network_template, "AWS::EC2::NetworkAclEntry")
        ports = {e["PortRange"]["From"] for e in entries if "PortRange" in e}
        assert (TOGGLED_PORTS[store] in ports) is on, store
    assert ("neptune-db:" in app_statements) is _on(examples, stage)["graph"]
    assert ("dax:GetItem" in app_statements) is _on(examples, stage)["accelerator"]
    assert {name: _on(examples, name) for name in examples.configs} == {
        "dev": {"graph": False, "time_series": True, "accelerator": False},
        "staging": {"graph": True, "time_series": True, "accelerator": True},
        "prod": {"graph": True, "time_series": True, "accelerator": True},
    }


def test_graph_database(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    graph = config.data.graph
    if graph.mode == "off":
        return
    template, stack = data(examples, stage), data_stack(examples, stage)
    (cluster_resource,) = resources(template, "AWS::Neptune::DBCluster").values()
    cluster = cluster_resource["Properties"]
    assert cluster["IamAuthEnabled"] is True and cluster["StorageEncrypted"] is True
    assert ref_id(cluster["KmsKeyId"]) == logical_id(stack.keys.storage)
    assert cluster["BackupRetentionPeriod"] == graph.backup_retention_days
    assert cluster["EnableCloudwatchLogsExports"] == ["audit"]
    assert cluster["DeletionProtection"] is (not config.allow_destroy)
    assert cluster_resource["DeletionPolicy"] == ("Delete" if config.allow_destroy else "Snapshot")
    assert network_output(cluster["VpcSecurityGroupIds"][0], examples.stages[stage].network.security_groups.graph)
    (parameters,) = props(template, "AWS::Neptune::DBClusterParameterGroup")
    assert parameters["Parameters"] == {"neptune_enable_audit_log": 1}
    assert parameters["Family"] == "neptune1.4"
    instances = props(template, "AWS::Neptune::DBInstance")
    assert len(instances) == graph.instances and len({i["AvailabilityZone"] for i in instances}) == graph.instances
    expected_class = "db.serverless" if graph.mode == "serverless" else graph.instance_class
    assert {i["DBInstanceClass"] for i in instances} == {expected_class}
    if graph.mode == "serverless":
        assert cluster["ServerlessScalingConfiguration"] == {
            "MinCapacity": graph.min_capacity_ncu, "MaxCapacity": graph.max_capacity_ncu,
        }  # fmt: skip
    (audit,) = [
        p for p in props(template, "AWS::Logs::LogGroup") if p.get("LogGroupName", "").startswith("/aws/neptune/")
    ]
    assert audit["LogGroupName"] == f"/aws/neptune/{cluster['DBClusterIdentifier']}/audit"
    assert audit["RetentionInDays"] == graph.log_retention_days and "KmsKeyId" in audit


def test_time_series_database(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    series = config.data.time_series
    if not series.enabled:
        return
    template, stack = data(examples, stage), data_stack(examples, stage)
    store = stack.time_series
    assert store is not None
    (instance_resource,) = resources(template, "AWS::Timestream::InfluxDBInstance").values()
    instance = instance_resource["Properties"]
    assert (instance["DbInstanceType"], instance["DbStorageType"], instance["AllocatedStorage"]) == (
        series.instance_type, series.storage_type, series.allocated_storage_gib,
    )  # fmt: skip
    assert instance["DeploymentType"] == ("WITH_MULTIAZ_STANDBY" if series.multi_az else "SINGLE_AZ")
    assert instance["PubliclyAccessible"] is False and instance["Port"] == 8086
    groups = examples.stages[stage].network.security_groups
    assert network_output(instance["VpcSecurityGroupIds"][0], groups.time_series)
    password = json.dumps(instance["Password"])
    assert "{{resolve:secretsmanager:" in password and logical_id(store.admin_secret) in password
    assert instance["LogDeliveryConfiguration"]["S3Configuration"]["Enabled"] is True
    assert ref_id(instance["LogDeliveryConfiguration"]["S3Configuration"]["BucketName"]) == logical_id(store.log_bucket)
    assert instance_resource["DeletionPolicy"] == ("Delete" if config.allow_destroy else "Retain")
    (delivery,) = [
        s for p in props(template, "AWS::S3::BucketPolicy") if ref_id(p["Bucket"]) == logical_id(store.log_bucket)
        for s in p["PolicyDocument"]["Statement"] if s.get("Sid") == "InfluxDbLogDelivery"
    ]  # fmt: skip
    assert delivery["Principal"] == {"Service": "timestream-influxdb.amazonaws.com"}
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": config.account}}
    prefix = f"/{config.tags.project}/{stage}/timeseries/"
    names = {p["Name"] for p in props(template, "AWS::SecretsManager::Secret")}
    assert {prefix + "admin", prefix + "api-token"} <= names


def test_table_accelerator(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    accelerator = config.data.accelerator
    if not accelerator.enabled:
        return
    assert accelerator.item_ttl_minutes
    template, stack = data(examples, stage), data_stack(examples, stage)
    (cluster_resource,) = resources(template, "AWS::DAX::Cluster").values()
    cluster = cluster_resource["Properties"]
    assert cluster["SSESpecification"] == {"SSEEnabled": True}
    assert cluster["ClusterEndpointEncryptionType"] == "TLS"
    assert (cluster["NodeType"], cluster["ReplicationFactor"]) == (accelerator.node_type, accelerator.nodes)
    assert network_output(cluster["SecurityGroupIds"][0], examples.stages[stage].network.security_groups.accelerator)
    assert cluster_resource["DeletionPolicy"] == ("Delete" if config.allow_destroy else "Retain")
    ttl = str(accelerator.item_ttl_minutes * 60_000)
    (parameters,) = props(template, "AWS::DAX::ParameterGroup")
    assert parameters["ParameterNameValues"] == {"record-ttl-millis": ttl, "query-ttl-millis": ttl}
    role = logical_id(stack.accelerator.role) if stack.accelerator else ""
    (policy,) = [p for p in props(template, "AWS::IAM::ManagedPolicy") if ref_id(p["Roles"][0]) == role]
    tables = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}["Tables"]
    named = json.dumps(tables["Resource"])
    assert all(logical_id(table) in named for table in stack.tables.tables)
    assert "*" not in json.dumps(tables["Action"])


def test_seed_002_secrets(examples: SynthesizedPlatform, stage: str) -> None:
    """The payment service's Lemon Squeezy keys and the user service's OAuth client, placeholders until set."""
    config = examples.configs[stage]
    prefix = f"/{config.tags.project}/{stage}/"
    secrets = {p["Name"]: p for p in props(data(examples, stage), "AWS::SecretsManager::Secret")}
    for name, generated in (("lemon-squeezy", "webhook_secret"), ("oauth-client", "client_secret")):
        generator = secrets[prefix + name]["GenerateSecretString"]
        assert generator["GenerateStringKey"] == generated
    readable = data_stack(examples, stage).workload_roles.secrets_by_kind["app"]
    assert {prefix + "lemon-squeezy", prefix + "oauth-client"} <= set(readable)
