"""Permissions: an IAM evaluation model of one stage, built from its synthesized templates (every region), that
says whether a principal may call an action on a resource and, when it may not, which piece is missing.

What the model holds:
- principals: every IAM role, with its trust policy and its identity policies (inline `Policies`,
  `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` attached by `Roles`, managed policies in `ManagedPolicyArns`).
  AWS-managed policies are read from a small table (`AWS_MANAGED`); any other one is opaque and named in the
  answer, never taken to allow anything. What binds a role to a workload is read too: Pod Identity associations
  (with the session tags EKS Pod Identity sets), Lambda functions and their event sources, ECS task
  definitions, Glue jobs, Firehose delivery streams, RDS Proxies, replication rules. Secrets Manager's hosted
  rotation applications (AWS::Serverless::Application) are principals whose identity policy lives in AWS's
  own template: the model checks the resource and key sides of what they touch, and says so;
- resource policies: S3 bucket, SQS queue, SNS topic (TopicPolicy, TopicInlinePolicy), Secrets Manager,
  KMS key policies and `AWS::KMS::Grant`s, EventBridge bus policies, OpenSearch access policies, MSK cluster
  policies and EFS file-system policies, each on the resource it governs (by identity);
- the key each resource is encrypted with (bucket, queue, topic, secret, stream, table, bus, log group).

Identity: a resource is its stack and logical ID (`ResourceId`). `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
`Fn::Select`/`Fn::Split`, `Fn::If` and the weak cross-stack `Fn::GetStackOutput` are resolved to symbolic
strings in which a generated name is the token `⟨stack.LogicalId⟩`: a bucket without a BucketName has the ARN
`arn:aws:s3:::⟨prod-data.BucketsImagesBucket8BF6F8E5⟩`, however a policy spells it (GetAtt Arn, or `arn:aws:s3:::`
joined with its Ref). A name the app sets is the name itself, so a policy that matches it by pattern matches
as IAM would. What cannot be resolved raises `ModelError` rather than being skipped.

Evaluation, as IAM evaluates a request within one account: an explicit Deny wins; otherwise an Allow in the
principal's identity policies, or one in the resource policy that names the principal itself, allows it. A KMS
key allows only through its key policy: a statement naming the principal, or the account (`:root`), which hands
the decision to the identity policy. Actions and resources match with `*` and `?`; NotAction and NotResource
are honoured. Conditions are decided where the request determines them (`Request.context`): TLS (aws:SecureTransport,
s3:TlsVersion), kms:ViaService and kms:CallerAccount, aws:SourceArn/SourceAccount of a service principal, KMS
encryption contexts, the principal's ARN, account and session tags, the requested region, and the resource's tags
(read from its template) and the request's tags (given by the caller). Any other key is undecided: an Allow that
depends on it proves nothing, and a Deny that depends on it is reported as one that may apply.

Not modelled: service control policies, permission boundaries and session policies (the app writes none),
cross-account access, the OpenSearch security plugin's role mappings inside the domain (fine-grained access
control, which IAM only lets requests reach), and IP-address and date conditions (undecided).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, cast

from tests.behaviour.reachability import ModelError, ResourceId, follow_outputs
from tests.behaviour.templates import StackTemplate

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
TLS_VERSION = "1.2"
"""The lowest TLS version a platform client negotiates (every bucket refuses less)."""
READ_VERBS = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "Search", "Lookup", "Head", "Select", "View")
"""An action whose name starts with one of these reads; every other action may change something."""
NO_RESOURCE_LEVEL = frozenset({
    "xray:puttracesegments", "xray:puttelemetryrecords", "ecr:getauthorizationtoken", "pricing:getproducts",
    "logs:createlogdelivery", "logs:getlogdelivery", "logs:updatelogdelivery", "logs:deletelogdelivery",
    "logs:listlogdeliveries", "logs:putresourcepolicy", "logs:describeresourcepolicies", "logs:describeloggroups",
    "iam:listinstanceprofiles",
    "bedrock:putmodelinvocationloggingconfiguration", "bedrock:deletemodelinvocationloggingconfiguration",
    "ec2:describe*", "elasticloadbalancing:describe*",
})  # fmt: skip
"""Actions with no resource type in the Service Authorization Reference (docs.aws.amazon.com/service-authorization/
latest/reference): a policy can only name them on `*`. Bedrock's invocation logging configuration is one per account
and Region. EC2's and Elastic Load Balancing's Describe calls are all so;
CloudWatch Logs' vended-log delivery calls are the ones Step Functions' logging guide grants on `*`."""
AWS_MANAGED: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "service-role/AWSGlueServiceRole": (
        {
            "Effect": "Allow",
            "Action": [
                "glue:*", "s3:GetBucketLocation", "s3:ListBucket", "s3:ListAllMyBuckets", "s3:GetBucketAcl",
                "ec2:DescribeVpcEndpoints", "ec2:DescribeRouteTables", "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute", "iam:ListRolePolicies", "iam:GetRole",
                "iam:GetRolePolicy", "cloudwatch:PutMetricData",
            ],
            "Resource": ["*"],
        },
    ),
}  # fmt: skip
"""The first statement of each AWS-managed policy the flows rely on, as AWS publishes it (AWSGlueServiceRole v5:
docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSGlueServiceRole.html). A subset of a policy only ever
allows less than the policy does, so a flow it proves holds; any other managed policy is opaque."""
OBJECT = "⟨object⟩"
"""The key of an object in a bucket, the path of a request to a domain, a topic or group name: any one."""


class Truth(enum.Enum):
    """A three-valued answer: a condition the request decides, or one it cannot."""

    YES = "yes"
    NO = "no"
    UNDECIDED = "undecided"

    @classmethod
    def of(cls, value: bool) -> Truth:
        return cls.YES if value else cls.NO


def token(rid: ResourceId) -> str:
    """The symbol of a value CloudFormation generates for `rid` (a name, an id)."""
    return f"⟨{rid.stack}.{rid.logical_id}⟩"


_TOKEN = re.compile(r"⟨([^.⟩]+)\.([^⟩]+)⟩")
_REGION_SUFFIX = re.compile(r"-[a-z]{2}(?:-gov)?-[a-z]+-\d+$")


def in_any_region(path: str) -> str:
    """`path` (without the stage) with its stack's region suffix dropped, `analytics-eu-west-1/Streaming/...` as
    `analytics/Streaming/...`: a flow named by a construct path holds in every region that builds that construct.
    A pair's stack (`peering-accept-us-east-1-eu-west-1`) keeps its name."""
    stack, _, rest = path.partition("/")
    primary = _REGION_SUFFIX.sub("", stack)
    return path if not rest or _REGION_SUFFIX.search(primary) else f"{primary}/{rest}"


# --- the symbolic value of a template expression ---------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """How a resource type's ARN is spelt ({name} is its name or token) and what its Ref and attributes return:
    "arn", "name", or a template of the same placeholders."""

    arn: str
    ref: str = "name"
    attributes: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    """The property (dotted path) that holds the name the app sets."""


def _arn(service: str, resource: str, *, regional: bool = True) -> str:
    """An ARN shape: `arn:{partition}:<service>:{region}:{account}:<resource>` (no region or account if global)."""
    return f"arn:{{partition}}:{service}:{'{region}:{account}' if regional else ':{account}'}:{resource}"


_QUEUE_URL = "https://sqs.{region}.amazonaws.com/{account}/{name}"
_CLUSTER = _arn("kafka", "cluster/{name}/{token}")
_TABLE_STREAM = _arn("dynamodb", "table/{name}/stream/{token}")
_TABLE = Form(_arn("dynamodb", "table/{name}"), attributes={"StreamArn": _TABLE_STREAM}, name="TableName")
FORMS: Mapping[str, Form] = {
    "AWS::S3::Bucket": Form("arn:{partition}:s3:::{name}", name="BucketName"),
    "AWS::SQS::Queue": Form(_arn("sqs", "{name}"), ref=_QUEUE_URL,
                            attributes={"QueueName": "name", "QueueUrl": _QUEUE_URL}, name="QueueName"),
    "AWS::SNS::Topic": Form(_arn("sns", "{name}"), ref="arn", attributes={"TopicName": "name"}, name="TopicName"),
    "AWS::KMS::Key": Form(_arn("kms", "key/{name}"), attributes={"KeyId": "name"}),
    "AWS::SecretsManager::Secret": Form(_arn("secretsmanager", "secret:{name}-{token}"), ref="arn", name="Name"),
    "AWS::IAM::Role": Form(_arn("iam", "role/{name}", regional=False), name="RoleName"),
    "AWS::IAM::ManagedPolicy": Form(_arn("iam", "policy/{name}", regional=False), ref="arn", name="ManagedPolicyName"),
    "AWS::DynamoDB::Table": _TABLE,
    "AWS::DynamoDB::GlobalTable": _TABLE,
    "AWS::Kinesis::Stream": Form(_arn("kinesis", "stream/{name}"), name="Name"),
    "AWS::KinesisFirehose::DeliveryStream": Form(_arn("firehose", "deliverystream/{name}"), name="DeliveryStreamName"),
    "AWS::Events::EventBus": Form(_arn("events", "event-bus/{name}"), attributes={"Name": "name"}, name="Name"),
    "AWS::Events::Rule": Form(_arn("events", "rule/{name}"), name="Name"),
    "AWS::Lambda::Function": Form(_arn("lambda", "function:{name}"), name="FunctionName"),
    "AWS::EFS::FileSystem": Form(_arn("elasticfilesystem", "file-system/{name}")),
    "AWS::EFS::AccessPoint": Form(_arn("elasticfilesystem", "access-point/{name}")),
    "AWS::MSK::Cluster": Form(_CLUSTER, ref="arn", name="ClusterName"),
    "AWS::MSK::ServerlessCluster": Form(_CLUSTER, ref="arn", name="ClusterName"),
    "AWS::OpenSearchService::Domain": Form(_arn("es", "domain/{name}"), name="DomainName"),
    "AWS::DAX::Cluster": Form(_arn("dax", "cache/{name}"), name="ClusterName"),
    "AWS::Timestream::InfluxDBInstance": Form(_arn("timestream-influxdb", "db-instance/{token}"), name="Name"),
    "AWS::RDS::DBProxy": Form(_arn("rds", "db-proxy:{token}"), name="DBProxyName"),
    "AWS::Logs::LogGroup": Form(_arn("logs", "log-group:{name}:*"), name="LogGroupName"),
    "AWS::ECR::Repository": Form(_arn("ecr", "repository/{name}"), name="RepositoryName"),
    "AWS::EKS::Cluster": Form(_arn("eks", "cluster/{name}"), name="Name"),
    "AWS::Glue::Database": Form(_arn("glue", "database/{name}"), name="DatabaseInput.Name"),
    "AWS::Glue::DataQualityRuleset": Form(_arn("glue", "dataQualityRuleset/{name}"), name="Name"),
    "AWS::EC2::TransitGatewayPeeringAttachment": Form(_arn("ec2", "transit-gateway-attachment/{name}"),
                                                      attributes={"Id": "name", "TransitGatewayAttachmentId": "name"}),
    "AWS::CloudFront::Distribution": Form("arn:{partition}:cloudfront::{account}:distribution/{name}"),
    "AWS::Bedrock::Guardrail": Form(_arn("bedrock", "guardrail/{token}"), ref="arn"),
    "AWS::SageMaker::Endpoint": Form(_arn("sagemaker", "endpoint/{name}"), ref="arn", name="EndpointName"),
    "AWS::StepFunctions::StateMachine": Form(_arn("states", "stateMachine:{name}"), ref="arn", name="StateMachineName"),
}  # fmt: skip
"""The resource types whose ARNs policies name, with the shape AWS gives them."""
_PSEUDO_CONSTANTS = {"AWS::Partition": PARTITION, "AWS::URLSuffix": URL_SUFFIX}


class _NoValue:
    """AWS::NoValue: the item is left out."""


NO_VALUE = _NoValue()


class Symbols:
    """The stage's templates, and the symbolic value of any expression in them."""

    def __init__(self, stacks: Sequence[StackTemplate]) -> None:
        self.stacks = {stack.name: stack for stack in stacks}

    def resource(self, rid: ResourceId) -> Mapping[str, Any]:
        stack = self.stacks.get(rid.stack)
        found = stack.resources.get(rid.logical_id) if stack else None
        if found is None:
            raise ModelError(f"{rid} is referenced but not in the templates")
        return cast(Mapping[str, Any], found)

    def type_of(self, rid: ResourceId) -> str:
        return str(self.resource(rid)["Type"])

    def properties(self, rid: ResourceId) -> Mapping[str, Any]:
        properties: Mapping[str, Any] = self.resource(rid).get("Properties", {})
        return properties

    def each(self, *types: str) -> Iterator[tuple[ResourceId, Mapping[str, Any]]]:
        """(identity, properties) of every resource of one of `types`, in every stack, in template order."""
        found = [entry for kind in types for entry in self._by_type.get(kind, ())]
        if len(types) > 1:
            found.sort(key=lambda entry: entry[0])
        for _, rid, properties in found:
            yield rid, properties

    @cached_property
    def _by_type(self) -> dict[str, list[tuple[int, ResourceId, Mapping[str, Any]]]]:
        """Each resource type's (template order, identity, properties): the contracts ask by type thousands of
        times per model, and a model's templates do not change once it is built (mutations build a new one)."""
        found: dict[str, list[tuple[int, ResourceId, Mapping[str, Any]]]] = defaultdict(list)
        for order, (rid, resource) in enumerate(self._resources()):
            found[resource["Type"]].append((order, rid, resource.get("Properties", {})))
        return found

    @cached_property
    def by_path(self) -> dict[str, list[tuple[int, ResourceId]]]:
        """Each construct path without the stage (`data/Buckets/Images/Bucket/Resource`): its (template order,
        identity)."""
        found: dict[str, list[tuple[int, ResourceId]]] = defaultdict(list)
        for order, (rid, resource) in enumerate(self._resources()):
            if path := resource.get("Metadata", {}).get("aws:cdk:path"):
                found[str(path).split("/", 1)[1]].append((order, rid))
        return found

    def _resources(self) -> Iterator[tuple[ResourceId, Mapping[str, Any]]]:
        for stack in self.stacks.values():
            for logical_id, resource in stack.resources.items():
                yield ResourceId(stack.name, logical_id), resource

    def path(self, rid: ResourceId) -> str:
        """The construct path without the stage (`data/Buckets/Images/Bucket/Resource`), or stack/logical ID."""
        path = self.resource(rid).get("Metadata", {}).get("aws:cdk:path")
        return str(path).split("/", 1)[1] if isinstance(path, str) else str(rid)

    def label(self, rid: ResourceId) -> str:
        """The construct path without CDK's `Resource`/`Default` leaves."""
        parts = self.path(rid).split("/")
        while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
            parts.pop()
        return "/".join(parts)

    def readable(self, text: str) -> str:
        """`text` with each token replaced by its resource's label."""

        def named(found: re.Match[str]) -> str:
            rid = ResourceId(found[1], found[2])
            return f"<{self.label(rid)}>" if rid.stack in self.stacks and self._has(rid) else found[0]

        return _TOKEN.sub(named, text)

    def _has(self, rid: ResourceId) -> bool:
        return rid.logical_id in self.stacks[rid.stack].resources

    def _follow(self, stack: str, value: Any) -> tuple[str, Any]:
        return follow_outputs(self.stacks, stack, value)

    def target(self, stack: str, value: Any) -> tuple[ResourceId, str | None] | None:
        """The resource (and attribute; None for Ref) a reference points at, else None."""
        stack, value = self._follow(stack, value)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        if isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
            return ResourceId(stack, value["Ref"]), None
        if "Fn::GetAtt" in value:
            argument = value["Fn::GetAtt"]
            name, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return ResourceId(stack, str(name)), str(attribute)
        return None

    def identity(self, stack: str, value: Any) -> ResourceId | None:
        """The resource a reference stands for (an attachment stands for its secret), else None."""
        found = self.target(stack, value)
        if found is None:
            return None
        rid = found[0]
        if self.type_of(rid) == "AWS::SecretsManager::SecretTargetAttachment":
            return self.identity(rid.stack, self.properties(rid)["SecretId"])
        return rid

    # --- values

    def text(self, stack: str, value: Any) -> str:
        """The symbolic string CloudFormation passes for `value`."""
        found = self._value(stack, value)
        if isinstance(found, list):
            raise ModelError(f"{stack}: {json.dumps(value)} is a list where a string is expected")
        if isinstance(found, _NoValue):
            raise ModelError(f"{stack}: {json.dumps(value)} is AWS::NoValue where a string is expected")
        return found

    def texts(self, stack: str, value: Any) -> list[str]:
        """A list (or a single value) as symbolic strings, AWS::NoValue items left out."""
        found = self._value(stack, value)
        if isinstance(found, _NoValue):
            return []
        if isinstance(found, str):
            return [found]
        return [item for item in found if isinstance(item, str)]

    def _value(self, stack: str, value: Any) -> str | list[Any] | _NoValue:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list):
            items = [self._value(stack, item) for item in value]
            return [item for item in items if not isinstance(item, _NoValue)]
        if not isinstance(value, dict) or len(value) != 1:
            raise ModelError(f"{stack}: cannot resolve {json.dumps(value)}")
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._ref(stack, str(argument))
        if function == "Fn::GetAtt":
            found = self.target(stack, value)
            assert found is not None
            return self._attribute(found[0], found[1] or "")
        if function == "Fn::GetStackOutput":
            producer, produced = self._follow(stack, value)
            return self._value(producer, produced)
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(self.texts(stack, parts))
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        if function == "Fn::Select":
            index, items = argument
            listed = self.texts(stack, items)
            return listed[int(self.text(stack, index))]
        if function == "Fn::Split":
            separator, text = argument
            return list(self.text(stack, text).split(str(separator)))
        if function == "Fn::If":
            name, yes, no = argument
            return self._value(stack, yes if self._condition(stack, name) else no)
        if function == "Fn::FindInMap":
            mapping, first, second = argument
            mappings = self.stacks[stack].template.get("Mappings", {})
            return self._value(stack, mappings[mapping][self.text(stack, first)][self.text(stack, second)])
        raise ModelError(f"{stack}: cannot resolve {function}")

    def _ref(self, stack: str, name: str) -> str | _NoValue:
        template = self.stacks[stack]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name == "AWS::Region":
            return template.region
        if name == "AWS::AccountId":
            return template.account
        if name == "AWS::StackName":
            return template.name
        if name in _PSEUDO_CONSTANTS:
            return _PSEUDO_CONSTANTS[name]
        if name.startswith("AWS::"):
            raise ModelError(f"{stack}: cannot resolve the pseudo parameter {name}")
        rid = ResourceId(stack, name)
        kind = self.type_of(rid)
        if kind == "AWS::SecretsManager::SecretTargetAttachment":
            return self.text(stack, self.properties(rid)["SecretId"])
        form = FORMS.get(kind)
        return self._shaped(rid, form.ref) if form else token(rid)

    def _attribute(self, rid: ResourceId, attribute: str) -> str:
        form = FORMS.get(self.type_of(rid))
        if form and attribute in form.attributes:
            return self._shaped(rid, form.attributes[attribute])
        if attribute == "Arn" or attribute.endswith("Arn"):
            return self.arn(rid)
        return f"⟨{rid.stack}.{rid.logical_id}.{attribute}⟩"

    def _shaped(self, rid: ResourceId, shape: str) -> str:
        if shape == "arn":
            return self.arn(rid)
        if shape == "name":
            return self.name(rid)
        return self._format(rid, shape)

    def _format(self, rid: ResourceId, shape: str) -> str:
        stack = self.stacks[rid.stack]
        service = self.type_of(rid).split("::")[1].lower()
        return shape.format(
            partition=PARTITION, region=stack.region, account=stack.account, service=service,
            name=self.name(rid), token=token(rid),
        )  # fmt: skip

    def arn(self, rid: ResourceId) -> str:
        """The resource's ARN, symbolic where CloudFormation generates a part of it."""
        form = FORMS.get(self.type_of(rid))
        return self._format(rid, form.arn if form else _arn("{service}", "{name}"))

    def name(self, rid: ResourceId) -> str:
        """The name the app gives the resource, or its token."""
        form = FORMS.get(self.type_of(rid))
        given = dig(self.properties(rid), form.name) if form and form.name else None
        return self.text(rid.stack, given) if given is not None else token(rid)

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replaced(found: re.Match[str]) -> str:
            name = found[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.text(stack, variables[name])
            if "." in name:
                return self.text(stack, {"Fn::GetAtt": name.split(".", 1)})
            return self.text(stack, {"Ref": name})

        return re.sub(r"\$\{([^}]+)\}", replaced, str(text))

    def _condition(self, stack: str, name: str) -> bool:
        conditions = self.stacks[stack].template.get("Conditions", {})
        if name not in conditions:
            raise ModelError(f"{stack}: no condition {name}")
        return self._true(stack, conditions[name])

    def _true(self, stack: str, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Fn::Equals":
            return self.text(stack, argument[0]) == self.text(stack, argument[1])
        if function == "Fn::Not":
            return not self._true(stack, argument[0])
        if function == "Fn::And":
            return all(self._true(stack, item) for item in argument)
        if function == "Fn::Or":
            return any(self._true(stack, item) for item in argument)
        if function == "Condition":
            return self._condition(stack, argument)
        raise ModelError(f"{stack}: cannot evaluate the condition {function}")

    def tags(self, rid: ResourceId) -> dict[str, str]:
        """The resource's tags, in whichever form its type writes them."""
        properties = self.properties(rid)
        for key in ("Tags", "FileSystemTags", "AccessPointTags", "TagList"):
            value = properties.get(key)
            if isinstance(value, dict):
                return {k: self.text(rid.stack, v) for k, v in value.items()}
            if isinstance(value, list):
                return {str(t["Key"]): self.text(rid.stack, t["Value"]) for t in value}
        return {}


# --- policy statements -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One condition key of one operator: `ForAllValues:StringEquals` on `aws:TagKeys`, and so on."""

    operator: str
    key: str
    values: tuple[str, ...]

    @property
    def base(self) -> str:
        return self.operator.split(":")[-1].removesuffix("IfExists")

    def decide(self, context: Mapping[str, tuple[str, ...]], decidable: frozenset[str]) -> Truth:
        key = self.key.lower()
        present = context.get(key)
        if present is None and not _decidable(key, decidable):
            return Truth.UNDECIDED
        base = self.base
        if base == "Null":
            return Truth.of((present is None) == (self.values[0].lower() == "true"))
        if present is None:  # IAM: an absent key matches no value, so only a negated operator holds
            return Truth.of(
                self.operator.endswith("IfExists") or self.operator.startswith("ForAllValues:") or "Not" in base
            )
        compare = _OPERATORS.get(base.removeprefix("Not").replace("StringNot", "String").replace("ArnNot", "Arn"))
        if compare is None:
            return Truth.UNDECIDED
        negated = "Not" in base
        matches = [any(compare(item, value) for value in self.values) for item in present]
        result = all(matches) if self.operator.startswith("ForAllValues:") else any(matches)
        return Truth.of(result != negated)


def glob_match(pattern: str, text: str, *, fold: bool = False) -> bool:
    """IAM's wildcard match: `*` is any run of characters, `?` any one."""
    return _glob_expression(pattern, fold).fullmatch(text) is not None


@cache
def _glob_expression(pattern: str, fold: bool) -> re.Pattern[str]:
    """`pattern` as a regular expression, built once: the models match the same few hundred patterns a million
    times a session (more than `re`'s own cache of compiled expressions holds)."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(expression, re.IGNORECASE if fold else 0)


def _numeric(compare: str) -> Any:
    def check(item: str, value: str) -> bool:
        left, right = float(item), float(value)
        return {"LessThan": left < right, "LessThanEquals": left <= right, "GreaterThan": left > right,
                "GreaterThanEquals": left >= right, "Equals": left == right}[compare]  # fmt: skip

    return check


_OPERATORS: Mapping[str, Any] = {
    "StringEquals": lambda item, value: item == value,
    "StringEqualsIgnoreCase": lambda item, value: item.lower() == value.lower(),
    "StringLike": lambda item, value: glob_match(value, item),
    "ArnEquals": lambda item, value: item == value,
    "ArnLike": lambda item, value: glob_match(value, item),
    "Bool": lambda item, value: item.lower() == value.lower(),
    **{f"Numeric{name}": _numeric(name) for name in ("LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")},
    "NumericEquals": _numeric("Equals"),
}
_ABSENT_UNLESS_GIVEN = (
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "kms:viaservice",
    "kms:encryptioncontext:",
    "aws:requesttag/",
    "aws:resourcetag/",
    "aws:tagkeys",
    "aws:principaltag/",
    "iam:passedtoservice",
    "ec2:createaction",
    "elasticloadbalancing:createaction",
    "elasticfilesystem:accessedviamounttarget",
    "aws:securetransport",
    "s3:tlsversion",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:requestedregion",
    "kms:calleraccount",
    "aws:principalservicename",
    "bedrock:guardrailidentifier",
)
"""Condition keys the model always decides: the request context holds them when the request carries them, and
their absence means the request does not (a request through no AWS service has no kms:ViaService)."""


def _decidable(key: str, extra: frozenset[str]) -> bool:
    return key in extra or any(key == known or (known.endswith(("/", ":")) and key.startswith(known))
                               for known in _ABSENT_UNLESS_GIVEN)  # fmt: skip


@dataclass(frozen=True)
class Statement:
    """One statement of a policy, its values resolved to symbolic strings. `principals` is None in identity
    policies; in resource policies it holds `*`, ARNs (an account as its `:root`) and `service:<name>`."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: tuple[Condition, ...]
    principals: tuple[str, ...] | None
    written_in: ResourceId
    """The resource whose property holds the statement (a policy, a role, a bucket policy, a key)."""
    index: int
    sid: str = ""
    flattened: tuple[str, ...] = ()
    """The resources as cdk-nag names them in its findings (`<Logical.Arn>/*`)."""
    managed: str = ""
    """The AWS-managed policy it comes from (AWS_MANAGED), if any."""

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def covers_action(self, action: str) -> bool:
        if self.not_actions:
            return not any(glob_match(p, action, fold=True) for p in self.not_actions)
        return any(glob_match(p, action, fold=True) for p in self.actions)

    def covers_resource(self, resource: str) -> bool:
        if self.not_resources:
            return not any(glob_match(p, resource) for p in self.not_resources)
        return any(glob_match(p, resource) for p in self.resources)

    def decide(self, context: Mapping[str, tuple[str, ...]], decidable: frozenset[str] = frozenset()) -> Truth:
        """Whether every condition holds (all operators, all keys: AND; the values of one key: OR)."""
        answers = [condition.decide(context, decidable) for condition in self.conditions]
        if Truth.NO in answers:
            return Truth.NO
        return Truth.UNDECIDED if Truth.UNDECIDED in answers else Truth.YES

    def undecided_keys(
        self, context: Mapping[str, tuple[str, ...]], decidable: frozenset[str] = frozenset()
    ) -> list[str]:
        return [c.key for c in self.conditions if c.decide(context, decidable) is Truth.UNDECIDED]


def listed(value: Any) -> list[Any]:
    """A policy element that may be one item or a list, as a list."""
    return value if isinstance(value, list) else [value]


def dig(value: Any, dotted: str) -> Any:
    """The property at a dotted path (`ReplicationConfiguration.Role`), or None."""
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def flatten(value: Any) -> str:
    """A policy value as cdk-nag flattens it for finding IDs (cdk-nag's utils/flatten-cfn-reference)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        return str(separator).join(flatten(item) for item in items)
    if isinstance(value, dict) and "Fn::Sub" in value:
        return flatten(value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"<{flatten(resource)}.{flatten(attribute)}>"
    if isinstance(value, dict) and "Ref" in value:
        return f"<{flatten(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


# --- principals ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """A role (or a hosted application) that calls AWS, with what it may do. `identity_known` is False for the
    hosted rotation applications, whose role AWS's template writes."""

    id: ResourceId
    arn: str
    account: str
    region: str
    label: str
    trust: tuple[Statement, ...]
    identity: tuple[Statement, ...]
    opaque: tuple[str, ...]
    """AWS-managed policies attached that the model does not know."""
    session_tags: Mapping[str, str] = field(default_factory=dict)
    identity_known: bool = True

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Service:
    """An AWS service calling on its own behalf, for a source (the topic that delivers, the bus that encrypts)."""

    name: str
    source_arn: str
    account: str

    def __str__(self) -> str:
        return f"{self.name} (for {self.source_arn})"


Caller = Principal | Service


@dataclass(frozen=True)
class Target:
    """What a request is about: a resource by identity, the ARN the request names (an object in the bucket, a
    path in the domain), and the tags it carries: the template's, or `tags` for what is created at run time
    (an instance Karpenter launches; `id` is then the resource that owns it, such as its cluster)."""

    id: ResourceId
    arn: str
    tags: Mapping[str, str] | None = None
    region: str | None = None
    """The region the request is made in, when not that of `id`'s stack: a global table's or a secret's replica
    elsewhere (its key is that region's replica key)."""


@dataclass(frozen=True)
class Acknowledgment:
    """A `cdk.Acknowledgment` as the cloud assembly records it: on a construct path, for one finding."""

    stack: str
    path: str
    """The construct path without the stage."""
    finding: str
    reason: str


# --- the model -------------------------------------------------------------------------------------------

_RESOURCE_POLICIES: Mapping[str, tuple[str, str]] = {
    "AWS::S3::BucketPolicy": ("Bucket", "PolicyDocument"),
    "AWS::SQS::QueuePolicy": ("Queues", "PolicyDocument"),
    "AWS::SNS::TopicPolicy": ("Topics", "PolicyDocument"),
    "AWS::SNS::TopicInlinePolicy": ("TopicArn", "PolicyDocument"),
    "AWS::SecretsManager::ResourcePolicy": ("SecretId", "ResourcePolicy"),
    "AWS::MSK::ClusterPolicy": ("ClusterArn", "Policy"),
}
"""Policy resources -> (the property naming what they govern, the property holding the document)."""
_OWN_POLICIES: Mapping[str, str] = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::OpenSearchService::Domain": "AccessPolicies",
    "AWS::EFS::FileSystem": "FileSystemPolicy",
}
"""Resources that carry their own resource policy."""
_KEYS: Mapping[str, tuple[str, ...]] = {
    "AWS::S3::Bucket": ("BucketEncryption", "ServerSideEncryptionConfiguration", "0", "ServerSideEncryptionByDefault",
                        "KMSMasterKeyID"),
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::SecretsManager::Secret": ("KmsKeyId",),
    "AWS::Kinesis::Stream": ("StreamEncryption", "KeyId"),
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
    "AWS::DynamoDB::GlobalTable": ("SSESpecification", "KMSMasterKeyId"),  # of the replica in the stack's region
    "AWS::Events::EventBus": ("KmsKeyIdentifier",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
}  # fmt: skip
"""Where each type names the KMS key its data is encrypted with."""
POD_IDENTITY_TAGS = ("eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account")
"""Session tags EKS Pod Identity sets that the association determines (eks-cluster-arn and the pod's own come
from the running pod)."""


@dataclass(frozen=True)
class Key:
    """The KMS key a resource is encrypted with: one of the templates' keys (`id`), or an AWS-managed or
    imported one the templates do not hold (`id` None, `name` what the resource names)."""

    id: ResourceId | None
    name: str


class PermissionModel:
    """The IAM of one stage: principals, resource policies and keys, and the evaluation of a request."""

    def __init__(
        self, stage: str, stacks: Sequence[StackTemplate], acknowledgments: Sequence[Acknowledgment] = ()
    ) -> None:
        self.stage = stage
        self.symbols = Symbols(stacks)
        self.acknowledgments = tuple(acknowledgments)

    # --- statements

    def statements(
        self, stack: str, document: Any, written_in: ResourceId, *, resource_policy: bool
    ) -> list[Statement]:
        """The statements of a policy document (JSON text is parsed; CDK writes the Logs one as text)."""
        if isinstance(document, str | dict) and not (isinstance(document, dict) and "Statement" in document):
            document = json.loads(self.symbols.text(stack, document))
        return [
            self._statement(stack, raw, written_in, index, resource_policy=resource_policy)
            for index, raw in enumerate(listed(document.get("Statement", [])))
        ]

    def _statement(self, stack: str, raw: Mapping[str, Any], written_in: ResourceId, index: int, *,
                   resource_policy: bool) -> Statement:  # fmt: skip
        if "NotPrincipal" in raw:
            raise ModelError(f"{written_in}: NotPrincipal is not modelled")
        texts = self.symbols.texts
        conditions = tuple(
            Condition(operator, key, tuple(texts(stack, values)))
            for operator, keys in (raw.get("Condition") or {}).items()
            for key, values in keys.items()
        )
        return Statement(
            effect=str(raw["Effect"]),
            actions=tuple(texts(stack, raw.get("Action", []))),
            not_actions=tuple(texts(stack, raw.get("NotAction", []))),
            # A trust policy names no resource: it governs the role it is written on.
            resources=tuple(texts(stack, raw.get("Resource", "*"))),
            not_resources=tuple(texts(stack, raw.get("NotResource", []))),
            conditions=conditions,
            principals=self._principals(stack, raw.get("Principal")) if resource_policy else None,
            written_in=written_in,
            index=index,
            sid=str(raw.get("Sid", "")),
            flattened=tuple(flatten(r) for r in listed(raw.get("Resource", []))),
        )

    def _principals(self, stack: str, value: Any) -> tuple[str, ...]:
        if value == "*":
            return ("*",)
        found: list[str] = []
        for kind, names in (value or {}).items():
            for name in self.symbols.texts(stack, names):
                if kind == "Service":
                    found.append(f"service:{name}")
                elif kind == "AWS" and re.fullmatch(r"\d{12}", name):
                    found.append(f"arn:{PARTITION}:iam::{name}:root")
                else:
                    found.append(name)
        return tuple(found)

    # --- principals

    @cached_property
    def principals(self) -> dict[ResourceId, Principal]:
        """Every role of the stage, and every hosted rotation application."""
        policies = {
            rid: self.statements(rid.stack, p["PolicyDocument"], rid, resource_policy=False)
            for rid, p in self.symbols.each("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        }
        attached: dict[ResourceId, list[ResourceId]] = defaultdict(list)
        for rid in policies:
            for role in self.symbols.properties(rid).get("Roles", []):
                found = self.symbols.identity(rid.stack, role)
                if found is None:
                    raise ModelError(f"{rid}: attached to {json.dumps(role)}, which is not a role of the stage")
                attached[found].append(rid)
        found_principals = {}
        for rid, properties in self.symbols.each("AWS::IAM::Role"):
            identity = [s for policy in attached[rid] for s in policies[policy]]
            for inline in properties.get("Policies", []):
                identity += self.statements(rid.stack, inline["PolicyDocument"], rid, resource_policy=False)
            opaque = []
            for arn in properties.get("ManagedPolicyArns", []):
                policy = self.symbols.identity(rid.stack, arn)
                if policy is not None:  # a customer-managed policy, attached here rather than by its Roles
                    identity += [] if policy in attached[rid] else policies[policy]
                    continue
                for name in self.symbols.texts(rid.stack, arn):
                    short = name.split(":policy/", 1)[-1]
                    if short in AWS_MANAGED:
                        identity += [
                            dataclasses.replace(
                                self._statement(rid.stack, raw, rid, i, resource_policy=False), managed=short
                            )
                            for i, raw in enumerate(AWS_MANAGED[short])
                        ]
                    else:
                        opaque.append(short)
            stack = self.symbols.stacks[rid.stack]
            trust = self.statements(rid.stack, properties["AssumeRolePolicyDocument"], rid, resource_policy=True)
            found_principals[rid] = Principal(
                id=rid,
                arn=self.symbols.arn(rid),
                account=stack.account,
                region=stack.region,
                label=self.symbols.label(rid),
                trust=tuple(trust),
                identity=tuple(identity),
                opaque=tuple(opaque),
                session_tags=self._session_tags(rid),
            )
        for rid, _ in self.symbols.each("AWS::Serverless::Application"):
            stack = self.symbols.stacks[rid.stack]
            found_principals[rid] = Principal(
                id=rid, arn=f"arn:{PARTITION}:iam::{stack.account}:role/{token(rid)}", account=stack.account,
                region=stack.region, label=f"{self.symbols.label(rid)} (AWS's hosted application)", trust=(),
                identity=(), opaque=(), identity_known=False,
            )  # fmt: skip
        return found_principals

    def _session_tags(self, role: ResourceId) -> dict[str, str]:
        """The session tags EKS Pod Identity sets for `role`, where one association binds it."""
        bound = [(rid, p) for rid, p in self.symbols.each("AWS::EKS::PodIdentityAssociation")
                 if self.symbols.identity(rid.stack, p["RoleArn"]) == role]  # fmt: skip
        if len(bound) != 1:
            return {}
        rid, properties = bound[0]
        text = self.symbols.text
        values = (text(rid.stack, properties["ClusterName"]), text(rid.stack, properties["Namespace"]),
                  text(rid.stack, properties["ServiceAccount"]))  # fmt: skip
        return dict(zip(POD_IDENTITY_TAGS, values, strict=True))

    def principal(self, stack: str, value: Any) -> Principal:
        """The principal a role reference (an ARN, a name) stands for."""
        rid = self.symbols.identity(stack, value)
        if rid is None or rid not in self.principals:
            raise ModelError(f"{stack}: {json.dumps(value)} is not a role of the stage")
        return self.principals[rid]

    def pod_identity(self, namespace: str, service_account: str) -> list[Principal]:
        """The roles Pod Identity associations give `namespace`/`service_account`."""
        return [
            self.principal(rid.stack, p["RoleArn"])
            for rid, p in self.symbols.each("AWS::EKS::PodIdentityAssociation")
            if self.symbols.text(rid.stack, p["Namespace"]) == namespace
            and self.symbols.text(rid.stack, p["ServiceAccount"]) == service_account
        ]

    def at(self, path: str, *, every_region: bool = False) -> list[ResourceId]:
        """The resources whose construct path (without the stage) is `path` or `path/Resource`; with
        `every_region`, also the same construct in every other region's stack (`in_any_region`)."""
        return [rid for _, rid in sorted(self._at(path, every_region) + self._at(f"{path}/Resource", every_region))]

    def _at(self, path: str, every_region: bool) -> list[tuple[int, ResourceId]]:
        return list((self._by_region_free_path if every_region else self.symbols.by_path).get(path, ()))

    @cached_property
    def _by_region_free_path(self) -> dict[str, list[tuple[int, ResourceId]]]:
        """`Symbols.by_path` with each path spelled `in_any_region`: a construct in every region's stack."""
        found: dict[str, list[tuple[int, ResourceId]]] = defaultdict(list)
        for path, entries in self.symbols.by_path.items():
            found[in_any_region(path)] += entries
        return found

    # --- resource policies and keys

    @cached_property
    def resource_policies(self) -> dict[ResourceId, list[Statement]]:
        """Each resource's resource policy (all statements written for it, wherever they are)."""
        found: dict[ResourceId, list[Statement]] = defaultdict(list)
        for kind, (governs, document) in _RESOURCE_POLICIES.items():
            for rid, properties in self.symbols.each(kind):
                statements = self.statements(rid.stack, properties[document], rid, resource_policy=True)
                for governed in listed(properties[governs]):
                    target = self.symbols.identity(rid.stack, governed)
                    if target is None:
                        raise ModelError(f"{rid}: governs {json.dumps(governed)}, which is not in the templates")
                    found[target].extend(statements)
        for kind, document in _OWN_POLICIES.items():
            for rid, properties in self.symbols.each(kind):
                if document in properties:
                    found[rid].extend(self.statements(rid.stack, properties[document], rid, resource_policy=True))
        for rid, properties in self.symbols.each("AWS::Events::EventBusPolicy"):
            bus = self._bus_named(rid.stack, properties.get("EventBusName", "default"))
            statement = properties.get("Statement") or {
                "Effect": "Allow", "Action": properties["Action"], "Principal": {"AWS": properties["Principal"]},
                "Resource": self.symbols.arn(bus) if bus else "*",
            }  # fmt: skip
            if bus is not None:
                found[bus].extend(self.statements(rid.stack, {"Statement": [statement]}, rid, resource_policy=True))
        for rid, properties in self.symbols.each("AWS::KMS::Grant"):
            key = self.symbols.identity(rid.stack, properties["KeyId"])
            if key is not None:
                operations = [f"kms:{operation}" for operation in properties["Operations"]]
                grant = {"Effect": "Allow", "Principal": {"AWS": properties["GranteePrincipal"]},
                         "Action": operations, "Resource": "*"}  # fmt: skip
                found[key].extend(self.statements(rid.stack, {"Statement": [grant]}, rid, resource_policy=True))
        return dict(found)

    def _bus_named(self, stack: str, value: Any) -> ResourceId | None:
        rid = self.symbols.identity(stack, value)
        if rid is not None:
            return rid
        name = self.symbols.text(stack, value)
        return next(
            (bus for bus, _ in self.symbols.each("AWS::Events::EventBus") if self.symbols.name(bus) == name), None
        )

    def key_of(self, rid: ResourceId, region: str | None = None) -> Key | None:
        """The KMS key `rid`'s data is encrypted with (a global table's or a secret's: its replica's in `region`,
        by default the stack's), or None when it names none (AWS-owned keys)."""
        kind = self.symbols.type_of(rid)
        path = _KEYS.get(kind)
        value: Any = self.symbols.properties(rid)
        home = self.symbols.stacks[rid.stack].region
        region = region or home
        if kind == "AWS::DynamoDB::GlobalTable":  # each replica names its region's key
            value = next(
                (r for r in value.get("Replicas", []) if self.symbols.text(rid.stack, r["Region"]) == region), {}
            )
        elif kind == "AWS::SecretsManager::Secret" and region != home:  # a replica is under its region's key
            value = next(
                (r for r in value.get("ReplicaRegions", []) if self.symbols.text(rid.stack, r["Region"]) == region),
                {},
            )
        for part in path or ():
            value = (
                value[int(part)] if isinstance(value, list) else value.get(part) if isinstance(value, dict) else None
            )
        if not path or value is None:
            return None
        found = self.symbols.identity(rid.stack, value)
        if found is not None:
            return Key(found, self.symbols.arn(found))
        named = self.symbols.text(rid.stack, value)
        key = next((k for k, _ in self.symbols.each("AWS::KMS::Key") if self.symbols.arn(k) == named), None)
        return Key(key, named)

    # --- evaluation

    def context(
        self, caller: Caller, target: Target, extra: Mapping[str, str | Sequence[str]] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """The request context a platform client's call carries: over TLS 1.2 or later, from the caller, in the
        target's region, with the target's tags."""
        stack = self.symbols.stacks[target.id.stack]
        context: dict[str, tuple[str, ...]] = {
            "aws:securetransport": ("true",),
            "s3:tlsversion": (TLS_VERSION,),
            "aws:requestedregion": (target.region or stack.region,),
        }
        if isinstance(caller, Principal):
            context["aws:principalarn"] = (caller.arn,)
            context["aws:principalaccount"] = (caller.account,)
            context["kms:calleraccount"] = (caller.account,)
            context.update({f"aws:principaltag/{k}": (v,) for k, v in caller.session_tags.items()})
        else:
            context["aws:sourcearn"] = (caller.source_arn,)
            context["aws:sourceaccount"] = (caller.account,)
            context["aws:principalservicename"] = (caller.name,)
        tags = self.symbols.tags(target.id) if target.tags is None else target.tags
        context.update({f"aws:resourcetag/{k.lower()}": (v,) for k, v in tags.items()})
        for key, value in (extra or {}).items():
            context[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
        return context

    def check(
        self, caller: Caller, action: str, target: Target, extra: Mapping[str, str | Sequence[str]] | None = None
    ) -> list[str]:
        """What stops `caller` from calling `action` on `target` (nothing: an empty list)."""
        context = self.context(caller, target, extra)
        identity = caller.identity if isinstance(caller, Principal) else ()
        governing = self.resource_policies.get(target.id, [])
        is_key = self.symbols.type_of(target.id) == "AWS::KMS::Key"
        problems: list[str] = []
        verdicts = {
            "identity": _decide(identity, action, target.arn, context, None),
            "resource": _decide(governing, action, target.arn, context, caller),
        }
        for verdict in verdicts.values():
            problems += [f"{self.where(s)} denies it" for s in verdict.denied]
            problems += [f"{self.where(s)} may deny it (undecided: {', '.join(keys)})" for s, keys in verdict.may_deny]
        if problems:
            return problems
        identity_allows = verdicts["identity"].allowed
        if isinstance(caller, Principal) and not caller.identity_known:
            identity_allows = Truth.YES  # AWS's own template grants its application what it rotates
        resource = verdicts["resource"]
        if is_key:
            allowed = resource.direct is Truth.YES or (resource.account is Truth.YES and identity_allows is Truth.YES)
        else:
            allowed = identity_allows is Truth.YES or resource.direct is Truth.YES
        if allowed:
            return []
        return [self._why_not(caller, action, target, verdicts, is_key=is_key)]

    def trust_problems(self, service: str, principal: Principal, actions: Sequence[str]) -> list[str]:
        """What stops `service` from assuming `principal` with `actions` (sts:AssumeRole, sts:TagSession)."""
        caller = Service(service, "", principal.account)
        target = Target(principal.id, principal.arn)
        context = self.context(caller, target)
        problems = []
        for action in actions:
            verdict = _decide(principal.trust, action, "*", context, caller)
            if verdict.denied or verdict.may_deny or verdict.direct is not Truth.YES:
                problems.append(f"the trust policy of {principal} does not let {service} call {action}")
        return problems

    def _why_not(self, caller: Caller, action: str, target: Target, verdicts: Mapping[str, _Verdict], *,
                 is_key: bool) -> str:  # fmt: skip
        what = f"{action} on {self.symbols.readable(target.arn)}"
        identity, resource = verdicts["identity"], verdicts["resource"]
        undecided = [
            f"{self.where(s)} (undecided: {', '.join(keys)})" for s, keys in (*identity.maybe, *resource.maybe)
        ]
        if undecided:
            return (
                f"{what} is allowed only if a condition holds that the request does not decide: {'; '.join(undecided)}"
            )
        if is_key and resource.direct is not Truth.YES and resource.account is not Truth.YES:
            return f"{what}: the key policy of {self.symbols.label(target.id)} names neither {caller} nor its account"
        if isinstance(caller, Service):
            return f"{what}: the resource policy of {self.symbols.label(target.id)} does not allow {caller}"
        if not caller.identity_known:
            return f"{what}: {caller}'s role is AWS's (outside the templates)"
        opaque = f" (its AWS-managed {', '.join(caller.opaque)} are not modelled)" if caller.opaque else ""
        return f"{what}: no statement of {caller}'s policies allows it{opaque}"

    def where(self, statement: Statement) -> str:
        sid = f" {statement.sid}" if statement.sid else f" #{statement.index + 1}"
        return f"{self.symbols.label(statement.written_in)} statement{sid}"


@dataclass
class _Verdict:
    """What one set of statements says about a request."""

    allowed: Truth = Truth.NO
    direct: Truth = Truth.NO
    """Allowed by a statement naming the caller itself (or `*`): a resource policy's grant."""
    account: Truth = Truth.NO
    """Allowed by a statement naming the caller's account (the key policy's delegation to IAM)."""
    denied: list[Statement] = field(default_factory=list)
    may_deny: list[tuple[Statement, list[str]]] = field(default_factory=list)
    maybe: list[tuple[Statement, list[str]]] = field(default_factory=list)


def _principal_match(statement: Statement, caller: Caller | None) -> str | None:
    """How a resource policy's statement names the caller: "direct", "account", or None."""
    if statement.principals is None or caller is None:
        return "direct"
    for name in statement.principals:
        if name == "*":
            return "direct"
        if isinstance(caller, Service) and name == f"service:{caller.name}":
            return "direct"
        if isinstance(caller, Principal) and name == caller.arn:
            return "direct"
        if isinstance(caller, Principal) and name == f"arn:{PARTITION}:iam::{caller.account}:root":
            return "account"
    return None


def _upgrade(current: Truth, new: Truth) -> Truth:
    return (
        Truth.YES if Truth.YES in (current, new) else Truth.UNDECIDED if Truth.UNDECIDED in (current, new) else current
    )


def _decide(statements: Iterable[Statement], action: str, resource: str, context: Mapping[str, tuple[str, ...]],
            caller: Caller | None) -> _Verdict:  # fmt: skip
    verdict = _Verdict()
    for statement in statements:
        match = _principal_match(statement, caller)
        if match is None or not statement.covers_action(action) or not statement.covers_resource(resource):
            continue
        truth = statement.decide(context)
        if statement.effect == "Deny":
            if truth is Truth.YES:
                verdict.denied.append(statement)
            elif truth is Truth.UNDECIDED:
                verdict.may_deny.append((statement, statement.undecided_keys(context)))
            continue
        if truth is Truth.UNDECIDED:
            verdict.maybe.append((statement, statement.undecided_keys(context)))
        verdict.allowed = _upgrade(verdict.allowed, truth)
        if match == "direct":
            verdict.direct = _upgrade(verdict.direct, truth)
        else:
            verdict.account = _upgrade(verdict.account, truth)
    return verdict


def is_mutating(action: str) -> bool:
    """Whether an action (or action pattern) may change something: anything but the read verbs."""
    verb = action.split(":", 1)[-1]
    return not verb.startswith(READ_VERBS)


def has_no_resource_level(action: str) -> bool:
    """Whether IAM takes `action` only on `*` (NO_RESOURCE_LEVEL)."""
    return any(glob_match(known, action, fold=True) for known in NO_RESOURCE_LEVEL)
