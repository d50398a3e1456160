"""The analytics stack, per stage, at the level of template properties (issue: analytics stack)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from constructs.analytics.glue_pipeline import RULESETS
from constructs.analytics.lake_tables import TABLES

from lambdas.stream_processor.event_schema import FIELDS, SOURCES
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
    (crawler,) = props(tmpl, "AWS::Glue::Crawler")
    assert crawler["Schedule"] == {"ScheduleExpression": config.crawler_schedule}
    assert crawler["CrawlerSecurityConfiguration"] == security["Name"]
    # The declared raw tables get their new partitions; the crawler never rewrites a schema.
    (target,) = crawler["Targets"]["CatalogTargets"]
    assert target["Tables"] == list(SOURCES)
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    assert json.loads(crawler["Configuration"])["CrawlerOutput"]["Partitions"]["AddOrUpdateBehavior"] == (
        "InheritFromTable"
    )
    assert set(glue.crawlers) == {"raw"}


def test_every_table_is_declared_with_location_format_and_partitions(platform: SynthesizedPlatform, stage: str) -> None:
    """The templates declare exactly the tables of lake_tables.TABLES, which tests/lake builds its local
    catalog from: the Spark tests read what the templates declare."""
    tmpl = platform.template_json(stage, "analytics")
    lake = platform.stages[stage].analytics.lake
    declared = {p["TableInput"]["Name"]: p["TableInput"] for p in props(tmpl, "AWS::Glue::Table")}
    assert set(declared) == {spec.name for spec in TABLES}
    for spec in TABLES:
        table = declared[spec.name]
        storage = table["StorageDescriptor"]
        assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == list(spec.columns)
        assert [(c["Name"], c["Type"]) for c in table["PartitionKeys"]] == list(spec.partitions)
        assert table["Parameters"]["classification"] == spec.format
        serde = storage["SerdeInfo"]["SerializationLibrary"]
        assert serde.endswith("ParquetHiveSerDe" if spec.format == "parquet" else "JsonSerDe")
        location = storage["Location"]["Fn::Join"][1]
        assert ref_id(location[1]) == logical_id(lake.zones[spec.zone]) and location[2] == f"/{spec.prefix}"
    raw_columns = [(c["Name"], c["Type"]) for c in declared["events"]["StorageDescriptor"]["Columns"]]
    assert raw_columns == [(field.column, field.glue_type) for field in FIELDS]  # the event schema, once


def test_glue_jobs_and_quality(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.glue
    tmpl = template(examples, stage)
    glue = analytics(examples, stage).glue
    for job in (glue.etl_job, glue.aggregates_job):
        spark = tmpl["Resources"][logical_id(job)]["Properties"]
        assert spark["Command"]["Name"] == "glueetl" and spark["Command"]["PythonVersion"] == "3"
        assert spark["GlueVersion"] == "5.0"
        assert (spark["WorkerType"], spark["NumberOfWorkers"], spark["Timeout"]) == ("G.1X", 2, 60)  # seed 003
        arguments = spark["DefaultArguments"]
        assert arguments["--enable-glue-datacatalog"] == "true"
        libraries = json.dumps(arguments["--extra-py-files"])
        assert libraries.count(".zip") == 2 and ".py" not in libraries
    # Each zip holds exactly the modules the jobs import, under the names they import them by.
    outdir = Path(examples.stages[stage].outdir)
    staged = [sorted(p.name for p in (outdir / library.asset_path).iterdir()) for library in glue.libraries]
    assert staged == [["lake_jobs.py", "lake_transforms.py"], ["event_schema.py"]]
    etl = tmpl["Resources"][logical_id(glue.etl_job)]["Properties"]["DefaultArguments"]
    assert etl["--lookback_days"] == str(config.lookback_days)
    rulesets = {p["TargetTable"]["TableName"]: p for p in props(tmpl, "AWS::Glue::DataQualityRuleset")}
    assert set(rulesets) == {r.table for r in RULESETS} == {"events_clean", "daily_agg", "analytics", "reporting",
                                                            "ml_datasets"}  # fmt: skip
    events = rulesets["events_clean"]["Ruleset"]
    for check in ('IsUnique "event_id"', 'IsComplete "tenant_id"', "group by event_date, event_id",
                  "max(event_time)", "avg(last("):  # fmt: skip
        assert check in events
    quality = tmpl["Resources"][logical_id(glue.quality_job)]["Properties"]
    assert quality["Command"]["Name"] == "pythonshell"
    assert json.loads(quality["DefaultArguments"]["--rulesets"]) == {t: r["Name"] for t, r in rulesets.items()}


def test_each_job_role_reaches_only_its_zones(examples: SynthesizedPlatform, stage: str) -> None:
    """Read raw, write processed, and so on: each job's S3 grants, by zone and prefix."""
    stack = analytics(examples, stage)
    tmpl = template(examples, stage)
    zones = {logical_id(bucket): zone for zone, bucket in stack.lake.zones.items()}

    def grants(role_name: str) -> dict[str, set[str]]:
        role = logical_id(stack.glue.roles[role_name])
        (policy,) = [p for p in props(tmpl, "AWS::IAM::ManagedPolicy") if role in json.dumps(p.get("Roles"))]
        found: dict[str, set[str]] = {}
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Sid"] in ("LakeRead", "LakeWrite"):
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                for resource in resources:
                    parts = resource["Fn::Join"][1]
                    found.setdefault(statement["Sid"], set()).add(f"{zones[ref_id(parts[0])]}{parts[1]}")
        return found

    assert grants("Crawler") == {"LakeRead": {"raw/logs/*", "raw/events/*", "raw/feeds/*"}}
    etl = grants("RawToProcessed")
    assert etl["LakeWrite"] == {"raw/quarantine/*", "processed/events/*"}
    assert not any(g.startswith("curated") for g in etl["LakeRead"])
    aggregates = grants("ProcessedAggregates")
    assert "processed/events/*" not in aggregates["LakeWrite"] and not any(
        g.startswith("raw") for g in aggregates["LakeRead"]
    )
    assert grants("QualityJob")["LakeWrite"] == {"curated/quality-results/*"}
    assert grants("ReportFailure") == {}


def test_workflow_runs_in_order_with_an_on_failure_path(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.glue
    tmpl = template(examples, stage)
    glue = analytics(examples, stage).glue
    raw = logical_id(glue.crawlers["raw"])
    etl, aggregates, quality, failure = (logical_id(j) for j in (glue.etl_job, glue.aggregates_job,
                                                                 glue.quality_job, glue.failure_job))  # fmt: skip
    triggers = props(tmpl, "AWS::Glue::Trigger")
    (start,) = [t for t in triggers if t["Type"] == "SCHEDULED"]
    assert start["Schedule"] == config.workflow_schedule
    assert ref_id(start["Actions"][0]["CrawlerName"]) == raw
    chain, on_failure = {}, []
    for trigger in (t for t in triggers if t["Type"] == "CONDITIONAL"):
        action = trigger["Actions"][0]
        target = ref_id(action.get("JobName") or action["CrawlerName"])
        conditions = trigger["Predicate"]["Conditions"]
        if target == failure:
            assert trigger["Predicate"]["Logical"] == "ANY"
            on_failure = sorted(
                (ref_id(c.get("CrawlerName") or c["JobName"]), c.get("CrawlState") or c["State"]) for c in conditions
            )
            continue
        (condition,) = conditions
        assert (condition.get("CrawlState") or condition["State"]) == "SUCCEEDED"
        chain[ref_id(condition.get("CrawlerName") or condition["JobName"])] = target
    assert chain == {raw: etl, etl: aggregates, aggregates: quality}
    assert on_failure == sorted([(raw, "FAILED"), *((job, state) for job in (etl, aggregates, quality)
                                                     for state in ("FAILED", "TIMEOUT"))])  # fmt: skip


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
    deliveries = {
        p["ExtendedS3DestinationConfiguration"]["Prefix"].split("/")[0]: p
        for p in (
            tmpl["Resources"][logical_id(delivery)]["Properties"] for delivery in streaming.delivery_streams.values()
        )
    }
    assert set(deliveries) == set(SOURCES)  # seed 003's raw logs/, events/, feeds/: one Firehose each
    processor_id = logical_id(streaming.processor.function)
    for source, delivery in deliveries.items():
        streamed = delivery.get("DeliveryStreamType") == "KinesisStreamAsSource"
        assert streamed is (source == "events")
        if not streamed:
            assert delivery["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
        destination = delivery["ExtendedS3DestinationConfiguration"]
        assert destination["Prefix"] == f"{source}/dt=!{{timestamp:yyyy-MM-dd}}/"
        assert destination["ErrorOutputPrefix"].startswith(f"errors/{source}/")
        assert destination["BufferingHints"] == {"IntervalInSeconds": config.buffer_seconds,
                                                 "SizeInMBs": config.buffer_mib}  # fmt: skip
        assert "KMSEncryptionConfig" in destination["EncryptionConfiguration"]
        assert ref_id(destination["BucketARN"]) == logical_id(analytics(examples, stage).lake.raw)
        # Newline-delimited, whatever the producers send: Athena and Spark split records on it.
        (processor,) = destination["ProcessingConfiguration"]["Processors"]
        assert processor["Type"] == "AppendDelimiterToRecord"
    (mapping,) = [
        p for p in props(tmpl, "AWS::Lambda::EventSourceMapping") if ref_id(p["FunctionName"]) == processor_id
    ]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert ref_id(mapping["DestinationConfig"]["OnFailure"]["Destination"]) == logical_id(streaming.failure_queue)
    function = tmpl["Resources"][logical_id(streaming.processor.function)]["Properties"]
    variables = function["Environment"]["Variables"]
    assert ref_id(variables["STATE_TABLE"]) == logical_id(streaming.state_table)
    assert variables["METRICS_NAMESPACE"] == analytics(examples, stage).metrics_namespace


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
