"""The analytics stack, per stage, at the level of template properties (issue: analytics stack)."""

from __future__ import annotations

import json
from typing import Any

from stacks.analytics import AnalyticsStack
from tests.support import logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform

GIB = 1024**3


def analytics(examples: SynthesizedPlatform, stage: str) -> AnalyticsStack:
    return examples.stages[stage].analytics


def template(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "analytics")


def test_analytics_never_depends_on_the_platform_stack(examples: SynthesizedPlatform, stage: str) -> None:
    stack = analytics(examples, stage)
    assert sorted(d.stack_name for d in stack.dependencies) == [f"{stage}-data", f"{stage}-network"]
    assert f"{stage}-platform" not in json.dumps(template(examples, stage))


def test_lake_zones(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    tmpl = template(examples, stage)
    stack = analytics(examples, stage)
    access_logs = logical_id(stack.access_logs)
    storage_key = logical_id(examples.stages[stage].data.keys.storage)
    for zone, bucket in stack.lake.zones.items():
        properties = tmpl["Resources"][logical_id(bucket)]["Properties"]
        encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert storage_key in output_of(encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
        assert ref_id(properties["LoggingConfiguration"]["DestinationBucketName"]) == access_logs
        versioned = properties.get("VersioningConfiguration", {}).get("Status") == "Enabled"
        assert versioned is config.data.buckets.versioned
        rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
        zone_config = getattr(config.analytics.lake, zone)
        rule = rules[f"{zone}-zone"]
        assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule.get("Transitions", [])] == [
            (t.storage_class, t.after_days) for t in zone_config.transitions
        ]
        assert rule.get("ExpirationInDays") == zone_config.expiration_days


def test_glue_catalog_security_and_crawlers(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.glue
    tmpl = template(examples, stage)
    glue = analytics(examples, stage).glue
    (database,) = props(tmpl, "AWS::Glue::Database")
    assert database["DatabaseInput"]["Name"] == f"{stage}_data_lake_catalog"
    (security,) = props(tmpl, "AWS::Glue::SecurityConfiguration")
    encryption = security["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    crawlers = {zone: tmpl["Resources"][logical_id(c)]["Properties"] for zone, c in glue.crawlers.items()}
    assert set(crawlers) == {"raw", "processed"}
    assert crawlers["raw"]["Schedule"] == {"ScheduleExpression": config.crawler_schedule}
    for crawler in crawlers.values():
        assert crawler["CrawlerSecurityConfiguration"] == security["Name"]


def test_glue_jobs_and_quality(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    glue = analytics(examples, stage).glue
    etl = tmpl["Resources"][logical_id(glue.etl_job)]["Properties"]
    assert etl["Command"]["Name"] == "glueetl" and etl["Command"]["PythonVersion"] == "3"
    assert etl["GlueVersion"] == "5.0"
    assert (etl["WorkerType"], etl["NumberOfWorkers"], etl["Timeout"]) == ("G.1X", 2, 60)  # seed 003: 2 DPU, 60 min
    assert etl["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    assert "s3://" in json.dumps(etl["Command"]["ScriptLocation"])
    (ruleset,) = props(tmpl, "AWS::Glue::DataQualityRuleset")
    assert ruleset["TargetTable"]["TableName"] == "curated_events"
    assert 'IsUnique "eventid"' in ruleset["Ruleset"]
    quality = tmpl["Resources"][logical_id(glue.quality_job)]["Properties"]
    assert quality["DefaultArguments"]["--ruleset_name"] == ruleset["Name"]


def test_workflow_chains_crawl_etl_crawl_quality(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.glue
    tmpl = template(examples, stage)
    glue = analytics(examples, stage).glue
    raw, processed = (logical_id(glue.crawlers[zone]) for zone in ("raw", "processed"))
    etl, quality = logical_id(glue.etl_job), logical_id(glue.quality_job)
    triggers = props(tmpl, "AWS::Glue::Trigger")
    (start,) = [t for t in triggers if t["Type"] == "SCHEDULED"]
    assert start["Schedule"] == config.workflow_schedule
    assert ref_id(start["Actions"][0]["CrawlerName"]) == raw
    chain = {}
    for trigger in (t for t in triggers if t["Type"] == "CONDITIONAL"):
        (condition,) = trigger["Predicate"]["Conditions"]
        source = ref_id(condition.get("CrawlerName") or condition["JobName"])
        action = trigger["Actions"][0]
        chain[source] = ref_id(action.get("JobName") or action["CrawlerName"])
    assert chain == {raw: etl, etl: processed, processed: quality}


def test_athena_workgroup(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics
    (workgroup,) = props(template(examples, stage), "AWS::Athena::WorkGroup")
    settings = workgroup["WorkGroupConfiguration"]
    assert settings["EnforceWorkGroupConfiguration"] is True
    assert settings["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    assert settings["BytesScannedCutoffPerQuery"] == config.athena_bytes_scanned_cutoff_gib * GIB
    assert settings["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"


def test_streaming_ingestion(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.streaming
    tmpl = template(examples, stage)
    streaming = analytics(examples, stage).streaming
    stream = tmpl["Resources"][logical_id(streaming.stream)]["Properties"]
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    assert stream["RetentionPeriodHours"] == config.retention_hours
    (delivery,) = props(tmpl, "AWS::KinesisFirehose::DeliveryStream")
    assert delivery["DeliveryStreamType"] == "KinesisStreamAsSource"
    destination = delivery["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"].startswith("events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
    assert destination["ErrorOutputPrefix"].startswith("errors/")
    assert destination["BufferingHints"] == {"IntervalInSeconds": config.buffer_seconds, "SizeInMBs": config.buffer_mib}
    assert "KMSEncryptionConfig" in destination["EncryptionConfiguration"]
    assert ref_id(destination["BucketARN"]) == logical_id(analytics(examples, stage).lake.raw)
    (mapping,) = props(tmpl, "AWS::Lambda::EventSourceMapping")
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert ref_id(mapping["DestinationConfig"]["OnFailure"]["Destination"]) == logical_id(streaming.failure_queue)
    function = tmpl["Resources"][logical_id(streaming.processor.function)]["Properties"]
    assert ref_id(function["Environment"]["Variables"]["STATE_TABLE"]) == logical_id(streaming.state_table)


def test_kafka_per_stage(examples: SynthesizedPlatform, stage: str) -> None:
    mode = examples.configs[stage].analytics.msk.mode
    tmpl = template(examples, stage)
    kafka_group = examples.stages[stage].network.security_groups.kafka
    if mode == "provisioned":
        (cluster,) = props(tmpl, "AWS::MSK::Cluster")
        assert cluster["NumberOfBrokerNodes"] == 3
        assert cluster["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.m5.large"
        assert len(cluster["BrokerNodeGroupInfo"]["ClientSubnets"]) == 3
        assert logical_id(kafka_group) in output_of(cluster["BrokerNodeGroupInfo"]["SecurityGroups"][0])
        assert cluster["EncryptionInfo"]["EncryptionInTransit"] == {"ClientBroker": "TLS", "InCluster": True}
        assert "DataVolumeKMSKeyId" in cluster["EncryptionInfo"]["EncryptionAtRest"]
        assert cluster["ClientAuthentication"]["Sasl"]["Iam"]["Enabled"] is True
        assert cluster["LoggingInfo"]["BrokerLogs"]["CloudWatchLogs"]["Enabled"] is True
        assert resources(tmpl, "AWS::MSK::Cluster").popitem()[1]["DeletionPolicy"] == "Retain"
    elif mode == "serverless":
        (cluster,) = props(tmpl, "AWS::MSK::ServerlessCluster")
        assert cluster["ClientAuthentication"]["Sasl"]["Iam"]["Enabled"] is True
        assert logical_id(kafka_group) in output_of(cluster["VpcConfigs"][0]["SecurityGroups"][0])
    assert {s: c.analytics.msk.mode for s, c in examples.configs.items()}["prod"] == "provisioned"


def test_search_domain(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.opensearch
    tmpl = template(examples, stage)
    (domain_resource,) = resources(tmpl, "AWS::OpenSearchService::Domain").values()
    domain = domain_resource["Properties"]
    cluster = domain["ClusterConfig"]
    assert cluster["InstanceCount"] == config.data_nodes
    if stage == "prod":
        assert cluster["ZoneAwarenessEnabled"] is True
        assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 3}
        assert (cluster["DedicatedMasterEnabled"], cluster["DedicatedMasterCount"]) == (True, 3)
        assert domain_resource["DeletionPolicy"] == "Retain"
    if stage == "dev":
        assert cluster["InstanceCount"] == 1 and cluster["ZoneAwarenessEnabled"] is False
    search_group = examples.stages[stage].network.security_groups.search
    assert logical_id(search_group) in output_of(domain["VPCOptions"]["SecurityGroupIds"][0])
    assert domain["EncryptionAtRestOptions"]["Enabled"] is True
    assert domain["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert domain["DomainEndpointOptions"] == {
        "EnforceHTTPS": True,
        "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }
    security = domain["AdvancedSecurityOptions"]
    assert security["Enabled"] is True and security["InternalUserDatabaseEnabled"] is False
    assert "MasterUserARN" in security["MasterUserOptions"]
    assert set(domain["LogPublishingOptions"]) == {
        "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS",
    }  # fmt: skip
