"""Run-time log groups: the CloudWatch log groups services create for themselves when they first write, read
from a stage's templates, and whether the templates pre-create each one with the stage's logs key and a
retention. A group a service creates itself is unencrypted and kept forever, and a later deployment that
declares it fails (the name is taken), so each must exist, under exactly the name the service will use,
before the service first writes.

Who writes where (each writer names its group by reference, or the service derives the name):
- Lambda: `LoggingConfig.LogGroup`, else `/aws/lambda/<FunctionName>` (Lambda developer guide, monitoring,
  CloudWatch Logs). A function without a fixed name and without `LoggingConfig` writes to a group named
  after its generated name, which only a group created after the function (a race with its first
  invocation) could match; a group named after a `FunctionName` must be a `DependsOn` of the function.
  Serverless applications (the Secrets Manager rotation functions) get `/aws/lambda/<functionName>`, which
  must exist before the application creates the function.
- EKS control plane logging: `/aws/eks/<cluster>/cluster` (EKS user guide, control plane logs).
- The amazon-cloudwatch-observability add-on (Container Insights): `/aws/containerinsights/<cluster>/`
  `application`, `dataplane`, `host` and `performance` (CloudWatch user guide, Container Insights, Fluent
  Bit setup and the enhanced-observability metrics).
- Fargate's log router: the `log_group_name` of each `cloudwatch_logs` output in the `aws-logging` ConfigMap.
- RDS log exports: `/aws/rds/cluster/<cluster id>/<log>` and `/aws/rds/instance/<instance id>/<log>` (RDS
  user guide, publishing logs to CloudWatch Logs); identifiers are lower-cased by RDS.
- Glue: Spark jobs of Glue 5.0 write `<prefix>/output` and `<prefix>/error` for `--custom-logGroup-prefix`
  (Glue developer guide, logging for Glue jobs), else `/aws-glue/jobs/output|error`; with a security
  configuration that encrypts CloudWatch Logs, Glue moves them under `<configuration>-role/<role name>/`;
  Python shell jobs write `/aws-glue/python-jobs/output|error` (moved the same way); crawlers write
  `/aws-glue/crawlers`, or `/aws-glue/crawlers-role/<role name>-<configuration>` with that configuration.
- Log groups a resource names itself (Firehose error logging, with its stream; Step Functions; MSK broker
  logs; OpenSearch log publishing; VPC flow logs; ElastiCache log delivery; ECS's awslogs driver; CloudTrail;
  WAF logging; API Gateway access logs; Managed Prometheus; Bedrock invocation logging) must be declared.

Names are compared as CloudFormation will resolve them, tokens as placeholders (`<Ref Role>`), so a group
named after a generated role name still matches. Keys are compared by identity: a group's `KmsKeyId` must
resolve (through cross-stack references) to a KMS key of the stage whose policy admits CloudWatch Logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tests.behaviour.reachability import (
    KUBERNETES_RESOURCE,
    ModelError,
    ResourceId,
    StackTemplate,
    _Templates,
    manifest_objects,
)

LOG_GROUP = "AWS::Logs::LogGroup"
CONTAINER_INSIGHTS = ("application", "dataplane", "host", "performance")
GLUE_STREAMS = ("output", "error")
GENERATED = "<its generated name>"
"""What a function without a FunctionName is called until CloudFormation creates it."""
ARN = re.compile(r"^arn:[a-z-]+:logs:[a-z0-9-]*:[0-9<>A-Za-z. ]*:log-group:(?P<name>[^:]+)(:\*)?$")


@dataclass(frozen=True)
class Expected:
    """One run-time log group a writer needs: by the group it references, or by the name the service uses."""

    writer: ResourceId
    what: str
    name: str | None = None
    group: ResourceId | None = None
    before: bool = False
    """The writer itself must wait for the group (DependsOn): it writes as soon as it exists."""
    stream: str | None = None
    """A log stream the writer needs in the group (Firehose creates none)."""


class RunTimeLogs:
    """The stage's declared log groups and what each writer expects of them."""

    def __init__(self, stacks: Sequence[StackTemplate]) -> None:
        self.t = _Templates(stacks)
        self.groups = dict(self.t.resources(LOG_GROUP))

    # --- names -------------------------------------------------------------------------------------------

    def text(self, stack: str, value: Any) -> str:
        """A name as CloudFormation resolves it: literals, joins and pseudo parameters; a Ref to a log group its
        name (or the group itself); any other token a placeholder."""
        stack, value = self.t._follow(stack, value)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Fn::Join" in value:
            delimiter, parts = value["Fn::Join"]
            return str(delimiter).join(self.text(stack, part) for part in parts)
        if isinstance(value, dict) and value.get("Ref") == "AWS::Region":
            return self.t.stacks[stack].region
        target = self.t.target(stack, value)
        if target is None:
            return f"<{json.dumps(value)}>"
        rid, attribute = target
        resource = self.t.resource(rid)
        if resource["Type"] == LOG_GROUP and attribute is None:
            return self.group_name(rid)
        name_property = {"AWS::IAM::Role": "RoleName", "AWS::Lambda::Function": "FunctionName"}.get(resource["Type"])
        if attribute is None and name_property and name_property in resource.get("Properties", {}):
            return self.text(rid.stack, resource["Properties"][name_property])
        return f"<{'GetAtt' if attribute else 'Ref'} {rid.logical_id}{'.' + attribute if attribute else ''}>"

    def group_name(self, rid: ResourceId) -> str:
        name = self.t.properties(rid).get("LogGroupName")
        return self.text(rid.stack, name) if name is not None else f"<generated name of {rid}>"

    def _group_of(self, stack: str, value: Any) -> ResourceId | None:
        """The declared log group a Ref, a log-group ARN or a GetAtt Arn names, if any."""
        try:
            target = self.t.target(stack, value)
        except ModelError:
            return None
        if target and self.t.resource(target[0])["Type"] == LOG_GROUP:
            return target[0]
        return None

    # --- writers -----------------------------------------------------------------------------------------

    def expected(self) -> Iterator[Expected]:
        yield from self._functions()
        yield from self._serverless_applications()
        yield from self._clusters()
        yield from self._databases()
        yield from self._glue()
        yield from self._named_by_resources()
        yield from self._fargate_logging()

    def _functions(self) -> Iterator[Expected]:
        for rid, p in self.t.resources("AWS::Lambda::Function"):
            configured = p.get("LoggingConfig", {}).get("LogGroup")
            if configured is not None:
                group = self._group_of(rid.stack, configured)
                name = None if group else self.text(rid.stack, configured)
                yield Expected(rid, "Lambda function", name=name, group=group, before=group is None)
            elif "FunctionName" in p:
                name = f"/aws/lambda/{self.text(rid.stack, p['FunctionName'])}"
                yield Expected(rid, "Lambda function", name=name, before=True)
            else:
                yield Expected(rid, "Lambda function", name=f"/aws/lambda/{GENERATED}", before=True)

    def _serverless_applications(self) -> Iterator[Expected]:
        for rid, p in self.t.resources("AWS::Serverless::Application"):
            name = p.get("Parameters", {}).get("functionName")
            if name is not None:
                group = f"/aws/lambda/{self.text(rid.stack, name)}"
                yield Expected(rid, "serverless application's function", name=group, before=True)

    def _cluster_name(self, stack: str, value: Any) -> str:
        target = self.t.target(*self.t._follow(stack, value))
        if target and self.t.resource(target[0])["Type"] == "AWS::EKS::Cluster":
            return self.text(target[0].stack, self.t.properties(target[0])["Name"])
        return self.text(stack, value)

    def _clusters(self) -> Iterator[Expected]:
        for rid, p in self.t.resources("AWS::EKS::Cluster"):
            if p.get("Logging", {}).get("ClusterLogging", {}).get("EnabledTypes"):
                yield Expected(
                    rid, "EKS control plane logging", name=f"/aws/eks/{self.text(rid.stack, p['Name'])}/cluster"
                )
        for rid, p in self.t.resources("AWS::EKS::Addon"):
            if self.text(rid.stack, p["AddonName"]) == "amazon-cloudwatch-observability":
                cluster = self._cluster_name(rid.stack, p["ClusterName"])
                for kind in CONTAINER_INSIGHTS:
                    yield Expected(rid, "Container Insights", name=f"/aws/containerinsights/{cluster}/{kind}")

    def _databases(self) -> Iterator[Expected]:
        for rid, p in self.t.resources("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"):
            instance = self.t.resource(rid)["Type"] == "AWS::RDS::DBInstance"
            if instance and "DBClusterIdentifier" in p:
                continue  # a cluster member: its cluster exports the logs
            kind, key = ("instance", "DBInstanceIdentifier") if instance else ("cluster", "DBClusterIdentifier")
            for log in p.get("EnableCloudwatchLogsExports") or []:
                identifier = self.text(rid.stack, p.get(key, f"<generated {kind} id of {rid}>")).lower()
                yield Expected(rid, f"RDS {log} log export", name=f"/aws/rds/{kind}/{identifier}/{log}")

    def _role_name(self, stack: str, value: Any) -> str:
        """A role's name from its ARN or name: its RoleName, else its Ref (CloudFormation's generated name)."""
        target = self.t.target(stack, value)
        if target and self.t.resource(target[0])["Type"] == "AWS::IAM::Role":
            role = target[0]
            name = self.t.properties(role).get("RoleName")
            return self.text(role.stack, name) if name is not None else f"<Ref {role.logical_id}>"
        return self.text(stack, value).rsplit("/", 1)[-1]

    def _encrypting_configurations(self) -> dict[str, str]:
        """Glue security configuration name -> its own name, for those that encrypt CloudWatch Logs."""
        found = {}
        for rid, p in self.t.resources("AWS::Glue::SecurityConfiguration"):
            mode = p.get("EncryptionConfiguration", {}).get("CloudWatchEncryption", {}).get("CloudWatchEncryptionMode")
            if mode == "SSE-KMS":
                name = self.text(rid.stack, p["Name"])
                found[name] = name
        return found

    def _glue(self) -> Iterator[Expected]:
        encrypting = self._encrypting_configurations()
        for rid, p in self.t.resources("AWS::Glue::Job"):
            command = self.text(rid.stack, p["Command"]["Name"])
            arguments = p.get("DefaultArguments", {})
            role = self._role_name(rid.stack, p["Role"])
            configuration = self.text(rid.stack, p["SecurityConfiguration"]) if "SecurityConfiguration" in p else None
            if "--custom-logGroup-prefix" in arguments:
                base = self.text(rid.stack, arguments["--custom-logGroup-prefix"])
            else:
                root = "/aws-glue/python-jobs" if command == "pythonshell" else "/aws-glue/jobs"
                base = f"{root}/{configuration}-role/{role}" if configuration in encrypting else root
            for stream in GLUE_STREAMS:
                yield Expected(rid, f"Glue {command} job", name=f"{base}/{stream}")
        for rid, p in self.t.resources("AWS::Glue::Crawler"):
            role = self._role_name(rid.stack, p["Role"])
            configuration = p.get("CrawlerSecurityConfiguration")
            name = self.text(rid.stack, configuration) if configuration is not None else None
            group = f"/aws-glue/crawlers-role/{role}-{name}" if name in encrypting else "/aws-glue/crawlers"
            yield Expected(rid, "Glue crawler", name=group)

    def _named(self, rid: ResourceId, what: str, value: Any, stream: Any = None) -> Expected:
        group = self._group_of(rid.stack, value)
        name = None if group else self.text(rid.stack, value)
        if name and (arn := ARN.match(name)):
            name = arn["name"]
        stream_name = self.text(rid.stack, stream) if stream is not None else None
        return Expected(rid, what, name=name, group=group, stream=stream_name)

    def _named_by_resources(self) -> Iterator[Expected]:
        for rid, p in self.t.resources("AWS::KinesisFirehose::DeliveryStream"):
            for key, destination in p.items():
                options = destination.get("CloudWatchLoggingOptions", {}) if isinstance(destination, dict) else {}
                if options.get("Enabled"):
                    yield self._named(rid, f"Firehose {key}", options["LogGroupName"], options.get("LogStreamName"))
        for rid, p in self.t.resources("AWS::StepFunctions::StateMachine"):
            for destination in p.get("LoggingConfiguration", {}).get("Destinations", []):
                yield self._named(rid, "state machine", destination["CloudWatchLogsLogGroup"]["LogGroupArn"])
        for rid, p in self.t.resources("AWS::MSK::Cluster"):
            logs = p.get("LoggingInfo", {}).get("BrokerLogs", {}).get("CloudWatchLogs", {})
            if logs.get("Enabled"):
                yield self._named(rid, "MSK broker logs", logs["LogGroup"])
        for rid, p in self.t.resources("AWS::OpenSearchService::Domain"):
            for kind, option in p.get("LogPublishingOptions", {}).items():
                if option.get("Enabled", True):
                    yield self._named(rid, f"OpenSearch {kind}", option["CloudWatchLogsLogGroupArn"])
        for rid, p in self.t.resources("AWS::EC2::FlowLog"):
            if p.get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs":
                yield self._named(rid, "VPC flow log", p.get("LogGroupName") or p["LogDestination"])
        for rid, p in self.t.resources("AWS::ElastiCache::ReplicationGroup"):
            for delivery in p.get("LogDeliveryConfigurations", []):
                if delivery["DestinationType"] == "cloudwatch-logs":
                    group = delivery["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"]
                    yield self._named(rid, f"ElastiCache {delivery['LogType']}", group)
        for rid, p in self.t.resources("AWS::ECS::TaskDefinition"):
            for container in p.get("ContainerDefinitions", []):
                log = container.get("LogConfiguration", {})
                if log.get("LogDriver") == "awslogs":
                    yield self._named(rid, f"ECS container {container.get('Name')}", log["Options"]["awslogs-group"])
        for rid, p in self.t.resources("AWS::CloudTrail::Trail"):
            if "CloudWatchLogsLogGroupArn" in p:
                yield self._named(rid, "CloudTrail", p["CloudWatchLogsLogGroupArn"])
        for rid, p in self.t.resources("AWS::WAFv2::LoggingConfiguration"):
            for destination in p["LogDestinationConfigs"]:
                if ":logs:" in json.dumps(destination) or self._group_of(rid.stack, destination):
                    yield self._named(rid, "WAF logging", destination)
        for rid, p in self.t.resources("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
            setting = p.get("AccessLogSetting") or p.get("AccessLogSettings") or {}
            if "DestinationArn" in setting:
                yield self._named(rid, "API Gateway access logs", setting["DestinationArn"])
        for rid, p in self.t.resources("AWS::APS::Workspace"):
            if "LogGroupArn" in p.get("LoggingConfiguration", {}):
                yield self._named(rid, "Managed Prometheus", p["LoggingConfiguration"]["LogGroupArn"])
        for rid, p in self.t.resources("AWS::Bedrock::ModelInvocationLoggingConfiguration"):
            cloudwatch = p.get("LoggingConfig", {}).get("CloudWatchConfig")
            if cloudwatch:
                yield self._named(rid, "Bedrock invocation logging", cloudwatch["LogGroupName"])

    def _fargate_logging(self) -> Iterator[Expected]:
        for rid, p in self.t.resources(KUBERNETES_RESOURCE):
            objects, _ = manifest_objects(p["Manifest"])
            for obj in objects:
                if obj.get("kind") == "ConfigMap" and obj["metadata"].get("name") == "aws-logging":
                    for name in re.findall(r"log_group_name\s+(\S+)", obj["data"].get("output.conf", "")):
                        yield Expected(rid, "Fargate log router", name=name)

    # --- the contract ------------------------------------------------------------------------------------

    def _by_name(self, region: str, name: str) -> list[ResourceId]:
        return [rid for rid in self.groups if self.t.region(rid) == region and self.group_name(rid) == name]

    def _is_logs_key(self, stack: str, value: Any) -> bool:
        """Whether `value` names a KMS key of the stage whose key policy admits CloudWatch Logs."""
        try:
            target = self.t.target(stack, value)
        except ModelError:
            return False
        if target is None or self.t.resource(target[0])["Type"] != "AWS::KMS::Key":
            return False
        statements = self.t.properties(target[0]).get("KeyPolicy", {}).get("Statement", [])
        return any(
            re.search(r'"logs\.[a-z0-9-]*\.?amazonaws\.com"', json.dumps(s.get("Principal"))) for s in statements
        )

    def problems(self, stage: str) -> list[str]:
        problems = []
        for expected in self.expected():
            where = f"{stage}: {expected.what} {self.t.label(expected.writer)}"
            region = self.t.region(expected.writer)
            groups = [expected.group] if expected.group else self._by_name(region, expected.name or "")
            if not groups and GENERATED in (expected.name or ""):
                problems.append(f"{where} has neither LoggingConfig.LogGroup nor a FunctionName: Lambda creates "
                                f"/aws/lambda/{GENERATED} itself on its first write")  # fmt: skip
                continue
            if not groups:
                problems.append(f"{where} writes to {expected.name}, which no template creates in {region}")
                continue
            (group,) = groups[:1]
            properties = self.t.properties(group)
            if not self._is_logs_key(group.stack, properties.get("KmsKeyId")):
                problems.append(
                    f"{where}: its group {self.group_name(group)} is not encrypted with the stage's logs key"
                )
            if not properties.get("RetentionInDays"):
                problems.append(f"{where}: its group {self.group_name(group)} keeps events forever")
            depends = self.t.resource(expected.writer).get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else depends
            if expected.before and group.stack == expected.writer.stack and group.logical_id not in depends:
                problems.append(f"{where} may write before its group {self.group_name(group)} exists (no DependsOn)")
            if expected.stream is not None:
                streams = [
                    self.text(rid.stack, s["LogStreamName"])
                    for rid, s in self.t.resources("AWS::Logs::LogStream")
                    if self._group_of(rid.stack, s["LogGroupName"]) == group and "LogStreamName" in s
                ] + [f"<Ref {rid.logical_id}>" for rid, s in self.t.resources("AWS::Logs::LogStream")
                     if self._group_of(rid.stack, s["LogGroupName"]) == group]  # fmt: skip
                if expected.stream not in streams:
                    problems.append(f"{where} writes to stream {expected.stream}, which no template creates")
        return problems
