"""The platform stack, per stage, at the level of template properties (issue: platform stack)."""

from __future__ import annotations

import json
from typing import Any

from constructs.compute.cluster_addons import ADDON_SERVICE_ACCOUNTS, ADDONS_WITHOUT_ROLES
from constructs.compute.karpenter import INTERRUPTION_EVENTS

from stacks.platform import PlatformComputeStack
from tests.behaviour.reachability import with_placeholders
from tests.behaviour.templates import json_text
from tests.support import jobs_of, logical_id, output_of, props, ref_id, resources
from tests.synthesis import SynthesizedPlatform


def platform_stack(examples: SynthesizedPlatform, stage: str) -> PlatformComputeStack:
    return examples.stages[stage].platform


def template(examples: SynthesizedPlatform, stage: str) -> dict[str, Any]:
    return examples.template_json(stage, "platform")


# --- cluster ------------------------------------------------------------------------------------------


def test_cluster_is_private_encrypted_logged_and_uses_access_entries(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    (cluster,) = props(template(examples, stage), "AWS::EKS::Cluster")
    assert cluster["Name"] == config.cluster_name
    assert cluster["Version"] == "1.36"
    vpc_config = cluster["ResourcesVpcConfig"]
    assert vpc_config["EndpointPrivateAccess"] is True
    assert vpc_config["EndpointPublicAccess"] is bool(config.platform.public_endpoint_cidrs)
    app_subnets = examples.stages[stage].network.app_subnets.subnets
    for reference, subnet in zip(vpc_config["SubnetIds"], app_subnets, strict=True):
        assert logical_id(subnet) in output_of(reference)
    assert {t["Type"] for t in cluster["Logging"]["ClusterLogging"]["EnabledTypes"]} == {
        "api", "audit", "authenticator", "controllerManager", "scheduler",
    }  # fmt: skip
    (encryption,) = cluster["EncryptionConfig"]
    assert encryption["Resources"] == ["secrets"]
    assert logical_id(examples.stages[stage].data.keys.eks) in output_of(encryption["Provider"]["KeyArn"])
    assert cluster["AccessConfig"] == {"AuthenticationMode": "API", "BootstrapClusterCreatorAdminPermissions": False}


def test_control_plane_logs_are_encrypted_and_kept(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    groups = {
        p["LogGroupName"]: p
        for p in props(template(examples, stage), "AWS::Logs::LogGroup")
        if isinstance(p.get("LogGroupName"), str)
    }
    control_plane = groups[f"/aws/eks/{config.cluster_name}/cluster"]
    assert control_plane["RetentionInDays"] == config.platform.log_retention_days
    assert "KmsKeyId" in control_plane


def test_admin_role_gets_cluster_admin_through_an_access_entry(examples: SynthesizedPlatform, stage: str) -> None:
    admin_role = platform_stack(examples, stage).eks.admin_role
    entries = props(template(examples, stage), "AWS::EKS::AccessEntry")
    (admin,) = [e for e in entries if e["PrincipalArn"] == {"Fn::GetAtt": [logical_id(admin_role), "Arn"]}]
    (policy,) = admin["AccessPolicies"]
    assert json.dumps(policy["PolicyArn"]).endswith(':cluster-access-policy/AmazonEKSClusterAdminPolicy"]]}')
    assert policy["AccessScope"] == {"Type": "cluster"}
    karpenter_nodes = [e for e in entries if e.get("Type") == "EC2_LINUX"]
    assert len(karpenter_nodes) == 1


def test_the_admin_role_is_the_stages_and_trusts_the_configured_principals(
    examples: SynthesizedPlatform, stage: str
) -> None:
    config = examples.configs[stage]
    role = template(examples, stage)["Resources"][logical_id(platform_stack(examples, stage).eks.admin_role)]
    assert role["Properties"]["RoleName"] == f"{config.tags.project}-{stage}-cluster-admin"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{config.account}:root"}
    assert trust["Condition"] == {"ArnLike": {"aws:PrincipalArn": list(config.platform.cluster_admin_principals)}}


def test_kubectl_provider_uses_the_v36_layer_in_private_subnets(examples: SynthesizedPlatform, stage: str) -> None:
    stack = platform_stack(examples, stage)
    handler = stack.eks.cluster.node.find_child("KubectlProvider").node.find_child("Handler")
    function = template(examples, stage)["Resources"][logical_id(handler)]["Properties"]
    layers = resources(template(examples, stage), "AWS::Lambda::LayerVersion")
    kubectl_layer = logical_id(stack.eks.node.find_child("KubectlLayer"))
    assert kubectl_layer in layers
    assert kubectl_layer in json.dumps(function["Layers"])
    assert len(function["VpcConfig"]["SubnetIds"]) == 3


# --- node groups --------------------------------------------------------------------------------------


def test_node_groups_follow_config_on_imdsv2_launch_templates(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].platform
    tmpl = template(examples, stage)
    stack = platform_stack(examples, stage)
    launch_templates = resources(tmpl, "AWS::EC2::LaunchTemplate")
    workload_group = logical_id(examples.stages[stage].network.security_groups.workload)
    managed = [group for group in config.node_groups if group.min_size]
    assert len(props(tmpl, "AWS::EKS::Nodegroup")) == len(managed) == len(stack.eks.node_groups)
    for group in managed:
        node_group = tmpl["Resources"][logical_id(stack.eks.node_groups[group.name])]["Properties"]
        # Fixed at the minimum: Karpenter holds the headroom (the system group scales by hand only).
        assert node_group["ScalingConfig"] == {
            "MinSize": group.min_size,
            "MaxSize": group.max_size if group.name == "system" else group.min_size,
            "DesiredSize": group.min_size,
        }
        assert node_group["InstanceTypes"] == list(group.instance_types)
        assert node_group["CapacityType"] == group.capacity_type
        arch = "ARM_64" if group.architecture == "arm64" else "x86_64"
        assert node_group["AmiType"] == f"AL2023_{arch}_{'NVIDIA' if group.gpu else 'STANDARD'}"
        assert node_group.get("Labels", {}) == group.labels
        assert [(t["Key"], t.get("Value"), t["Effect"]) for t in node_group.get("Taints", [])] == [
            (t.key, t.value, t.effect) for t in group.taints
        ]
        data = launch_templates[ref_id(node_group["LaunchTemplate"]["Id"])]["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == (2 if group.name == "system" else 1)
        (volume,) = data["BlockDeviceMappings"]
        assert volume["Ebs"] == {"Encrypted": True, "VolumeSize": group.disk_size_gib, "VolumeType": "gp3"}
        assert any(workload_group in json.dumps(g) for g in data["SecurityGroupIds"])
        assert any("ClusterSecurityGroupId" in json.dumps(g) for g in data["SecurityGroupIds"])
    system = next(g for g in config.node_groups if g.name == "system")
    assert ("system", "true", "NO_SCHEDULE") in [(t.key, t.value, t.effect) for t in system.taints]


def test_seed_sizes_per_stage(examples: SynthesizedPlatform) -> None:
    prod = {g.name: g for g in examples.configs["prod"].platform.node_groups}
    # Seed 004: prod's EKS nodes are m6g.large (Graviton); the app pool keeps its vCPUs (3-20 m6i.xlarge before).
    assert (prod["system"].instance_types, prod["system"].min_size, prod["system"].max_size) == (("m6g.large",), 2, 4)
    assert (prod["app"].instance_types, prod["app"].min_size, prod["app"].max_size) == (("m6g.large",), 6, 40)
    assert prod["system"].architecture == prod["app"].architecture == "arm64"
    assert (prod["gpu"].instance_types, prod["gpu"].min_size, prod["gpu"].max_size) == (("g5.xlarge",), 0, 5)
    assert (prod["ai"].instance_types, prod["ai"].min_size, prod["ai"].max_size) == (("r6i.2xlarge",), 2, 10)
    dev = {g.name: g for g in examples.configs["dev"].platform.node_groups}
    assert dev["app"].capacity_type == "SPOT" and "t3.medium" in dev["app"].instance_types
    assert {g.architecture for g in dev.values()} == {"amd64"}
    staging = {g.name: g for g in examples.configs["staging"].platform.node_groups}
    assert {name for name, g in staging.items() if g.architecture == "arm64"} == {"system", "app"}


def test_graviton_pools_require_arm64(examples: SynthesizedPlatform, stage: str) -> None:
    """Karpenter's pool for a Graviton group launches arm64 nodes only; other pools carry no arch requirement."""
    config = examples.configs[stage].platform
    tmpl = template(examples, stage)
    pools = {
        obj["metadata"]["name"]: obj["spec"]["template"]["spec"]["requirements"]
        for manifest in props(tmpl, "Custom::AWSCDK-EKS-KubernetesResource")
        for obj in json_text(manifest["Manifest"])
        if obj["kind"] == "NodePool"
    }
    for group in config.node_groups:
        if group.headroom:
            arch = [r for r in pools[group.name] if r["key"] == "kubernetes.io/arch"]
            expected = [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]
            assert arch == (expected if group.architecture == "arm64" else [])


def test_fargate_profiles_roles_logging_and_pod_groups(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    fargate = config.platform.fargate
    tmpl = template(examples, stage)
    profiles = props(tmpl, "AWS::EKS::FargateProfile")
    if fargate is None:
        assert profiles == []
        return
    assert [p["FargateProfileName"] for p in profiles] == [p.name for p in fargate.profiles]
    network = examples.stages[stage].network
    app_subnets = {logical_id(s) for s in network.app_subnets.subnets}
    roles = resources(tmpl, "AWS::IAM::Role")
    for profile, wanted in zip(profiles, fargate.profiles, strict=True):
        assert [(s["Namespace"], {label["Key"]: label["Value"] for label in s.get("Labels", [])})
                for s in profile["Selectors"]] == [(s.namespace, dict(s.labels)) for s in wanted.selectors]  # fmt: skip
        # The app tier's private subnets, read from the network stack.
        assert len(profile["Subnets"]) == len(app_subnets)
        assert all("VpcappSubnet" in output_of(subnet) for subnet in profile["Subnets"])
        role = roles[profile["PodExecutionRoleArn"]["Fn::GetAtt"][0]]["Properties"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "eks-fargate-pods.amazonaws.com"}
        source = json.dumps(trust["Condition"]["ArnLike"]["aws:SourceArn"])
        assert f":fargateprofile/{config.cluster_name}/{wanted.name}/*" in source
    name = f"/aws/eks/{config.cluster_name}/fargate"
    (group,) = [p for p in props(tmpl, "AWS::Logs::LogGroup") if p.get("LogGroupName") == name]
    assert group["RetentionInDays"] == config.platform.log_retention_days and "KmsKeyId" in group
    objects = [obj for m in props(tmpl, "Custom::AWSCDK-EKS-KubernetesResource") for obj in json_text(m["Manifest"])]
    (namespace,) = [o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "aws-observability"]
    assert namespace["metadata"]["labels"]["aws-observability"] == "enabled"
    (logging,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "aws-logging"]
    assert f"    log_group_name {name}\n" in logging["data"]["output.conf"]
    assert "auto_create_group false" in logging["data"]["output.conf"]
    assert len(json.dumps(logging["data"])) < 5300  # Fargate's limit on the ConfigMap
    policies = [o for o in objects if o["kind"] == "SecurityGroupPolicy"]
    assert len(policies) == sum(len(p.selectors) for p in fargate.profiles)
    for manifest in props(tmpl, "Custom::AWSCDK-EKS-KubernetesResource"):
        text, tokens = with_placeholders(manifest["Manifest"]) if isinstance(manifest["Manifest"], dict) else ("", {})
        for policy in (o for o in json.loads(text or "[]") if o["kind"] == "SecurityGroupPolicy"):
            cluster_group, workload = (json.dumps(tokens[g]) for g in policy["spec"]["securityGroups"]["groupIds"])
            assert "ClusterSecurityGroupId" in cluster_group  # EKS requires it among a Fargate pod's groups
            assert logical_id(network.security_groups.workload) in workload


# --- add-ons and charts -------------------------------------------------------------------------------


def test_managed_addons_with_pod_identity_roles(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    addons = {p["AddonName"] for p in props(tmpl, "AWS::EKS::Addon")}
    assert addons == {*ADDONS_WITHOUT_ROLES, *ADDON_SERVICE_ACCOUNTS}
    associations = {(p["Namespace"], p["ServiceAccount"]) for p in props(tmpl, "AWS::EKS::PodIdentityAssociation")}
    for namespace, service_account, _ in ADDON_SERVICE_ACCOUNTS.values():
        assert (namespace, service_account) in associations
    assert ("kube-system", "aws-load-balancer-controller") in associations
    assert ("kube-system", "karpenter") in associations
    for role in resources(tmpl, "AWS::IAM::Role").values():
        statement = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        if statement["Principal"].get("Service") == "pods.eks.amazonaws.com":
            assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]


def test_helm_charts_are_pinned_from_config(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].platform
    charts = {p["Chart"]: p for p in props(template(examples, stage), "Custom::AWSCDK-EKS-HelmChart")}
    assert {name: chart["Version"] for name, chart in charts.items()} == {
        "aws-load-balancer-controller": config.charts.aws_load_balancer_controller,
        "metrics-server": config.charts.metrics_server,
        "nvidia-device-plugin": config.charts.nvidia_device_plugin,
        "karpenter": config.karpenter.chart_version,
        "karpenter-crd": config.karpenter.chart_version,
        "secrets-store-csi-driver": config.charts.secrets_store_csi_driver,
        "secrets-store-csi-driver-provider-aws": config.charts.secrets_store_csi_driver_provider_aws,
        "kube-state-metrics": config.charts.kube_state_metrics,
        "prometheus-node-exporter": config.charts.prometheus_node_exporter,
        "dcgm-exporter": config.charts.dcgm_exporter,
        **({"argo-cd": config.gitops.chart_version} if config.gitops else {}),
    }
    assert charts["karpenter"]["Repository"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert charts["karpenter-crd"]["Repository"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert charts["karpenter"]["SkipCrds"] is True
    pins = {"karpenter": "1.14.1", "aws-load-balancer-controller": "1.17.1", "metrics-server": "3.13.1"}
    assert {name: charts[name]["Version"] for name in pins} == pins  # Kubernetes 1.36 (environments/schema/versions.py)
    assert config.charts.nvidia_device_plugin == "0.20.0"


def test_secrets_reach_pods_on_every_node_with_pod_identity(examples: SynthesizedPlatform, stage: str) -> None:
    """The driver and the AWS provider run on every node (the provider's chart tolerates no taint by default),
    the driver requests Pod Identity's token audience, and each namespace whose role reads secrets gets a class
    naming them, by their /<project>/<stage>/ names."""
    config = examples.configs[stage]
    values = {
        p["Chart"]: json_text(p.get("Values", "{}"))
        for p in props(template(examples, stage), "Custom::AWSCDK-EKS-HelmChart")
    }
    driver, provider = values["secrets-store-csi-driver"], values["secrets-store-csi-driver-provider-aws"]
    assert driver["linux"]["tolerations"] == provider["tolerations"] == [{"operator": "Exists"}]
    assert driver["tokenRequests"] == [{"audience": "pods.eks.amazonaws.com"}]
    assert provider["secrets-store-csi-driver"] == {"install": False}
    (workload_secrets,) = platform_stack(examples, stage).secrets_store.objects
    assert workload_secrets["metadata"] == {"name": "workload-secrets", "namespace": "app"}
    parameters = workload_secrets["spec"]["parameters"]
    assert (parameters["usePodIdentity"], parameters["region"]) == ("true", config.region)
    names = {o["objectAlias"]: o["objectName"] for o in json.loads(parameters["objects"])}
    prefix = f"/{config.tags.project}/{stage}/"
    assert names == {
        name: prefix + name
        for name in (
            "anthropic-api-key",
            "openai-api-key",
            "servicenow-oauth",
            "slack-bot-token",
            "lemon-squeezy",
            "oauth-client",
            "jwt-signing-key",
        )
    } | ({"api-token": f"{prefix}timeseries/api-token"} if config.data.time_series.enabled else {})


def test_system_addons_have_disruption_budgets(examples: SynthesizedPlatform, stage: str) -> None:
    """CoreDNS, the controllers and Karpenter keep a replica through a node drain (issue: the front door)."""
    tmpl = template(examples, stage)
    (coredns,) = [p for p in props(tmpl, "AWS::EKS::Addon") if p["AddonName"] == "coredns"]
    assert json.loads(coredns["ConfigurationValues"])["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    values = {p["Chart"]: json_text(p.get("Values", "{}")) for p in props(tmpl, "Custom::AWSCDK-EKS-HelmChart")}
    budgets = {
        chart: (v.get("replicaCount", v.get("replicas")), v["podDisruptionBudget"])
        for chart, v in values.items()
        if chart in ("aws-load-balancer-controller", "metrics-server", "karpenter")
    }
    assert budgets == {
        "aws-load-balancer-controller": (2, {"maxUnavailable": 1}),  # the chart renders it above one replica
        "metrics-server": (2, {"enabled": True, "minAvailable": 1}),
        "karpenter": (None, {"name": "karpenter", "maxUnavailable": 1}),  # the chart's 2 replicas
    }


def test_gpu_namespaces_claim_the_shared_models_read_only(examples: SynthesizedPlatform, stage: str) -> None:
    """Static provisioning on the models access point: `<fs-id>::<fsap-id>`, read-only, TLS and IAM mounts."""
    stack = platform_stack(examples, stage)
    storage_class, volume, claim = stack.shared_models.objects
    assert (storage_class["kind"], storage_class["provisioner"]) == ("StorageClass", "efs.csi.aws.com")
    gpu_namespaces = [n.name for n in examples.configs[stage].platform.namespaces if n.workload_role == "gpu"]
    assert claim["metadata"] == {"name": "shared-models", "namespace": gpu_namespaces[0]}
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    spec = volume["spec"]
    assert spec["claimRef"] == {"namespace": gpu_namespaces[0], "name": "shared-models"}
    assert spec["accessModes"] == claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert spec["csi"]["readOnly"] is True and spec["mountOptions"] == ["tls", "iam"]
    handle = json.dumps(stack.resolve(spec["csi"]["volumeHandle"]))
    file_system = examples.stages[stage].data.file_system
    assert logical_id(file_system.file_system) in handle and logical_id(file_system.models_access_point) in handle


def test_the_file_system_admits_the_iam_mounts_of_the_efs_driver(examples: SynthesizedPlatform, stage: str) -> None:
    """The EFS CSI node plugin mounts with `iam` as the node: the file system policy admits IAM principals through
    a mount target, and anonymous clients not at all; the controller has its Pod Identity role."""
    (file_system,) = props(examples.template_json(stage, "data"), "AWS::EFS::FileSystem")
    (statement,) = file_system["FileSystemPolicy"]["Statement"]
    assert statement["Principal"] == {"AWS": "*"} and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    associations = {
        (p["Namespace"], p["ServiceAccount"])
        for p in props(template(examples, stage), "AWS::EKS::PodIdentityAssociation")
    }
    assert ("kube-system", "efs-csi-controller-sa") in associations


def test_the_load_balancer_controller_only_registers_pods(examples: SynthesizedPlatform, stage: str) -> None:
    """TargetGroupBinding-only: no Service or Gateway controllers, no IngressClass, a TLS 1.3 default policy,
    and a role that can register and deregister targets in the platform's target groups and nothing more."""
    tmpl = template(examples, stage)
    stack = platform_stack(examples, stage)
    (chart,) = [p for p in props(tmpl, "Custom::AWSCDK-EKS-HelmChart") if p["Chart"] == "aws-load-balancer-controller"]
    values = json.loads(with_placeholders(chart["Values"])[0])
    assert values["controllerConfig"] == {
        "featureGates": {"EnableServiceController": False, "NLBGatewayAPI": False, "ALBGatewayAPI": False}
    }
    assert values["enableServiceMutatorWebhook"] is False and values["enableBackendSecurityGroup"] is False
    assert (values["createIngressClassResource"], values["ingressClassParams"]) == (False, {"create": False})
    assert values["disableIngressClassAnnotation"] is True
    assert values["defaultSSLPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    role = stack.addons.pod_identity_roles["aws-load-balancer-controller"]
    (policy,) = [
        p["PolicyDocument"]["Statement"]
        for p in props(tmpl, "AWS::IAM::ManagedPolicy")
        if ref_id(p["Roles"][0]) == logical_id(role.role)
    ]
    statements = {s["Sid"]: s for s in policy}
    assert set(statements) == {"Describe", "RegisterPods"}
    assert statements["Describe"]["Resource"] == "*"
    assert all(a.split(":")[1].startswith("Describe") for a in statements["Describe"]["Action"])
    assert sorted(statements["RegisterPods"]["Action"]) == [
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
    ]
    groups = stack.ingress.target_groups.values()
    assert sorted(ref_id(r) for r in statements["RegisterPods"]["Resource"]) == sorted(logical_id(g) for g in groups)


# --- Karpenter ----------------------------------------------------------------------------------------


def test_karpenter_interruption_queue_and_gpu_pool(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].platform.karpenter
    tmpl = template(examples, stage)
    karpenter = platform_stack(examples, stage).karpenter
    queue_id = logical_id(karpenter.interruption_queue)
    rules = props(tmpl, "AWS::Events::Rule")
    assert sorted(r["EventPattern"]["detail-type"][0] for r in rules) == sorted(
        d for _, d in INTERRUPTION_EVENTS.values()
    )
    assert all(ref_id(r["Targets"][0]["Arn"]) == queue_id for r in rules)
    classes = {o["metadata"]["name"]: o["spec"] for o in karpenter.manifests if o["kind"] == "EC2NodeClass"}
    pools = {o["metadata"]["name"]: o["spec"] for o in karpenter.manifests if o["kind"] == "NodePool"}
    assert classes.keys() == pools.keys()
    discovery = {"karpenter.sh/discovery": examples.configs[stage].cluster_name}
    for name, node_class in classes.items():
        assert node_class["metadataOptions"]["httpTokens"] == "required"
        assert node_class["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
        assert node_class["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
        assert node_class["subnetSelectorTerms"] == [{"tags": discovery}]
        assert pools[name]["template"]["spec"]["nodeClassRef"]["name"] == name
        assert pools[name]["template"]["spec"]["expireAfter"] == "168h"
    burst = pools["gpu-burst"]
    requirements = {r["key"]: r["values"] for r in burst["template"]["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge"]
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert burst["limits"] == {"nvidia.com/gpu": str(config.gpu_limit)}
    assert burst["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"}
    assert classes["gpu-burst"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "200Gi"
    # The seeds' min-max sizes: Karpenter adds max - min nodes of each group's size above the managed minimum.
    gpu = {"dev": ("4", "16Gi", "1"), "staging": ("8", "32Gi", "2"), "prod": ("20", "80Gi", "5")}[stage]
    expected = {
        "dev": {"app": {"cpu": "6", "memory": "12Gi"}, "gpu-burst": {"nvidia.com/gpu": "2"}},
        "staging": {"app": {"cpu": "16", "memory": "64Gi"}, "gpu-burst": {"nvidia.com/gpu": "4"}},
        "prod": {"app": {"cpu": "68", "memory": "272Gi"}, "ai": {"cpu": "64", "memory": "512Gi"},
                 "gpu-burst": {"nvidia.com/gpu": "10"}},
    }[stage]  # fmt: skip
    expected["gpu"] = dict(zip(("cpu", "memory", "nvidia.com/gpu"), gpu, strict=True))
    assert {name: pool["limits"] for name, pool in pools.items()} == expected
    assert pools["gpu"]["template"]["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    ]
    assert pools["gpu"]["weight"] > burst.get("weight", 0)


def test_network_tags_what_karpenter_discovers(examples: SynthesizedPlatform, stage: str) -> None:
    network = examples.template_json(stage, "network")
    cluster_name = examples.configs[stage].cluster_name
    tagged = [
        key
        for key, resource in network["Resources"].items()
        if {"Key": "karpenter.sh/discovery", "Value": cluster_name} in resource.get("Properties", {}).get("Tags", [])
    ]
    stack = examples.stages[stage].network
    assert sorted(tagged) == sorted(
        [*(logical_id(s) for s in stack.app_subnets.subnets), logical_id(stack.security_groups.workload)]
    )


# --- tenancy ------------------------------------------------------------------------------------------


def test_namespaces_have_quota_limits_default_deny_and_priority(examples: SynthesizedPlatform, stage: str) -> None:
    tenancy = platform_stack(examples, stage).tenancy
    for namespace in examples.configs[stage].platform.namespaces:
        objects = {obj["kind"] + ("/" + obj["metadata"]["name"]): obj for obj in tenancy.objects[namespace.name]}
        quota = objects["ResourceQuota/compute"]["spec"]["hard"]
        assert quota["requests.cpu"] == str(namespace.cpu)
        assert quota["requests.memory"] == f"{namespace.memory_gib}Gi"
        assert quota["requests.nvidia.com/gpu"] == str(namespace.gpu)
        assert "LimitRange/defaults" in objects
        deny = objects["NetworkPolicy/default-deny"]["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert "NetworkPolicy/allow-dns" in objects and "NetworkPolicy/allow-same-namespace" in objects
        assert objects[f"PriorityClass/{namespace.name}-priority"]["value"] == namespace.priority
    gpu = next(n for n in examples.configs[stage].platform.namespaces if n.name == "gpu-workers")
    expected = {"dev": (20, 50, 3, 100_000), "staging": (30, 100, 6, 500_000), "prod": (50, 200, 15, 1_000_000)}
    assert (gpu.cpu, gpu.memory_gib, gpu.gpu, gpu.priority) == expected[stage]  # seed 002 (dev, prod)


def test_workload_accounts_are_bound_to_least_privilege_roles(examples: SynthesizedPlatform, stage: str) -> None:
    tmpl = template(examples, stage)
    data = examples.stages[stage].data
    associations = {
        p["Namespace"]: p for p in props(tmpl, "AWS::EKS::PodIdentityAssociation") if p["ServiceAccount"] == "workload"
    }
    assert logical_id(data.workload_roles.app_role) in output_of(associations["app"]["RoleArn"])
    assert logical_id(data.workload_roles.gpu_role) in output_of(associations["gpu-workers"]["RoleArn"])
    data_template = examples.template_json(stage, "data")
    policies: dict[str, list[dict[str, Any]]] = {}  # a role's statements, over its managed policies
    for p in props(data_template, "AWS::IAM::ManagedPolicy"):
        policies.setdefault(ref_id(p["Roles"][0]), []).extend(p["PolicyDocument"]["Statement"])
    app = {s["Sid"]: s for s in policies[logical_id(data.workload_roles.app_role)]}
    assert set(app) >= {
        "Secrets",
        "CacheAuthToken",
        "Tables",
        "AppDataObjects",
        "Publish",
        "Consume",
        "Events",
        "Database",
    }
    assert app["Database"]["Action"] == "rds-db:connect"
    gpu = {s["Sid"]: s for s in policies[logical_id(data.workload_roles.gpu_role)]}
    assert gpu["ModelsObjects"]["Action"] == "s3:GetObject"
    assert "elasticfilesystem:ClientMount" in gpu["SharedModels"]["Action"]
    for statements in (app, gpu):
        for statement in statements.values():
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in actions), statement["Sid"]


# --- ECR, ECS, Lambda ---------------------------------------------------------------------------------


def test_ecr_repositories(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage]
    repositories = {p["RepositoryName"]: p for p in props(template(examples, stage), "AWS::ECR::Repository")}
    prefix = f"{config.tags.project}/{stage}/"
    for name in ("user", "payment", "generation", "gallery", "model", "agent", "data-processing", "spark"):
        repository = repositories[prefix + name]
        assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repository["ImageTagMutability"] == "IMMUTABLE"
        assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        assert "LifecyclePolicy" in repository


def _provider(item: dict[str, Any]) -> str:
    return str(item["CapacityProvider"])


def _task_definitions(examples: SynthesizedPlatform, stage: str) -> dict[str, dict[str, Any]]:
    jobs = jobs_of(platform_stack(examples, stage))
    tmpl = template(examples, stage)
    return {name: tmpl["Resources"][logical_id(d)]["Properties"] for name, d in jobs.task_definitions.items()}


def test_ecs_fargate_cluster_tasks_service_and_schedule(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].platform
    tasks = {task.name: task for task in config.ecs_tasks}
    tmpl = template(examples, stage)
    jobs = jobs_of(platform_stack(examples, stage))
    (cluster,) = props(tmpl, "AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "enhanced"} in cluster["ClusterSettings"]
    (providers,) = props(tmpl, "AWS::ECS::ClusterCapacityProviderAssociations")
    assert sorted(providers["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    definitions = _task_definitions(examples, stage)
    assert sorted((d["Cpu"], d["Memory"]) for d in definitions.values()) == [("1024", "2048"), ("2048", "4096")]
    spot_first = [{"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
                  {"CapacityProvider": "FARGATE_SPOT", "Base": 0, "Weight": 3}]  # fmt: skip
    for name, definition in definitions.items():
        (container,) = definition["ContainerDefinitions"]
        assert definition["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert container["ReadonlyRootFilesystem"] is True
        # One tag per release from config: never a tag that moves (the repositories are immutable).
        assert container["Image"]["Fn::Join"][1][-1] == f":{tasks[name].image_tag or config.ecs_image_tag}"
        environment = {e["Name"] for e in container["Environment"]}
        task = tasks[name]
        assert environment >= {f"{zone.upper()}_BUCKET" for zone in {*task.reads, *task.writes}} | {"GLUE_DATABASE"}
        assert {s["Name"] for s in container.get("Secrets", [])} == {n.upper().replace("-", "_") for n in task.secrets}
        if task.scratch_gib:  # Spark's scratch: ephemeral storage on a volume, the root file system read-only
            assert definition["EphemeralStorage"] == {"SizeInGiB": task.scratch_gib}
            assert container["MountPoints"] == [{"ContainerPath": "/scratch", "ReadOnly": False,
                                                 "SourceVolume": "scratch"}]  # fmt: skip
            assert {"Name": "SPARK_LOCAL_DIRS", "Value": "/scratch"} in container["Environment"]
    (service,) = props(tmpl, "AWS::ECS::Service")
    (served,) = [t for t in config.ecs_tasks if t.max_tasks is not None]
    assert ref_id(service["TaskDefinition"]) == logical_id(jobs.task_definitions[served.name])
    assert service["DesiredCount"] == 0
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert sorted(service["CapacityProviderStrategy"], key=_provider) == spot_first
    (target,) = props(tmpl, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, served.max_tasks)
    # Scaled on the work waiting or in flight: to 0 at none (lower alarm), up to max_tasks as it grows.
    alarms = [a for a in props(tmpl, "AWS::CloudWatch::Alarm") if "visible + inflight" in json.dumps(a)]
    assert sorted(a["ComparisonOperator"] for a in alarms) == ["GreaterThanOrEqualToThreshold",
                                                               "LessThanOrEqualToThreshold"]  # fmt: skip
    work_queue = examples.stages[stage].analytics.job_roles.work_queues[served.name]
    assert all(logical_id(work_queue) in json.dumps(a["Metrics"]) for a in alarms)
    scheduled = [t for t in config.ecs_tasks if t.schedule is not None]
    schedules = props(tmpl, "AWS::Scheduler::Schedule")
    assert len(schedules) == len(scheduled)
    for task in scheduled:
        (schedule,) = [s for s in schedules if s["ScheduleExpression"] == task.schedule]
        parameters = schedule["Target"]["EcsParameters"]
        assert ref_id(parameters["TaskDefinitionArn"]) == logical_id(jobs.task_definitions[task.name])
        assert ref_id(schedule["Target"]["Arn"]) == logical_id(jobs.cluster)
        assert sorted(parameters["CapacityProviderStrategy"], key=_provider) == spot_first
        assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def _statements(tmpl: dict[str, Any], role_id: str, resource_type: str) -> dict[str, dict[str, Any]]:
    (policy,) = [p for p in props(tmpl, resource_type) if role_id in json.dumps(p.get("Roles"))]
    statements = policy["PolicyDocument"]["Statement"]
    return {s.get("Sid", f"#{i}"): s for i, s in enumerate(statements)}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_ecs_task_permissions_per_data_flow(platform: SynthesizedPlatform, stage: str) -> None:
    """Each ECS task's permissions, flow by flow: its task role may list and read the zones it reads, write
    only the zones it writes, use the storage key (encrypt only when it writes) and its work queue, and do
    nothing else; its execution role reads exactly its named secrets through the secrets key; a schedule's
    role runs exactly its task definition on the cluster and passes exactly that task's two roles; the keys
    leave access to these IAM policies (the account is a key-policy principal)."""
    stage_stacks = platform.stages[stage]
    config = platform.configs[stage].platform
    analytics_tmpl = platform.template_json(stage, "analytics")
    platform_tmpl = platform.template_json(stage, "platform")
    data_tmpl = platform.template_json(stage, "data")
    analytics, jobs, data = stage_stacks.analytics, jobs_of(stage_stacks.platform), stage_stacks.data
    zone_of = {logical_id(bucket): zone for zone, bucket in analytics.lake.zones.items()}
    for task in config.ecs_tasks:
        role_id = logical_id(analytics.job_roles.roles[task.name])
        statements = _statements(analytics_tmpl, role_id, "AWS::IAM::ManagedPolicy")

        def zones(sid: str, statements: dict[str, dict[str, Any]] = statements) -> set[str]:
            return {zone_of[ref_id(r["Fn::Join"][1][0] if "Fn::Join" in r else r)]
                    for r in _as_list(statements[sid]["Resource"])}  # fmt: skip

        used = {*task.reads, *task.writes}
        expected = ({"LakeList", "LakeRead", "StorageKey"} if used else set()) | (
            {"LakeWrite"} if task.writes else set()
        )
        expected |= {"Work", "WorkKey"} if task.max_tasks is not None else set()
        assert set(statements) == expected, task.name
        if used:
            assert zones("LakeList") == zones("LakeRead") == used
            key_actions = set(_as_list(statements["StorageKey"]["Action"]))
            assert key_actions == ({"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} if task.writes
                                   else {"kms:Decrypt"})  # fmt: skip
            assert logical_id(data.keys.storage) in output_of(statements["StorageKey"]["Resource"])
        if task.writes:
            assert zones("LakeWrite") == set(task.writes)
            assert set(_as_list(statements["LakeWrite"]["Action"])) == {"s3:PutObject", "s3:AbortMultipartUpload"}
        for statement in statements.values():
            assert not any("*" in action for action in _as_list(statement["Action"])), (task.name, statement)
        if task.max_tasks is not None:
            queue = analytics.job_roles.work_queues[task.name]
            assert ref_id(statements["Work"]["Resource"]) == logical_id(queue)
        definition = platform_tmpl["Resources"][logical_id(jobs.task_definitions[task.name])]["Properties"]
        assert role_id in output_of(definition["TaskRoleArn"])

        execution_id = ref_id(definition["ExecutionRoleArn"])
        execution = _statements(platform_tmpl, execution_id, "AWS::IAM::Policy")
        secret_reads = [s for s in execution.values() if "secretsmanager:GetSecretValue" in _as_list(s["Action"])]
        read = [output_of(r) for s in secret_reads for r in _as_list(s["Resource"])]
        named = [logical_id(data.secrets.by_name[name]) for name in task.secrets]
        assert sorted(next(n for n in named if n in r) for r in read) == sorted(named)
        decrypts = [s for s in execution.values() if s["Action"] == "kms:Decrypt"]
        assert bool(decrypts) is bool(task.secrets)
        for statement in decrypts:
            assert logical_id(data.keys.secrets) in output_of(statement["Resource"])
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]

        if task.schedule is not None:
            scheduler_id = logical_id(jobs.scheduler_roles[task.name])
            scheduler = _statements(platform_tmpl, scheduler_id, "AWS::IAM::ManagedPolicy")
            assert set(scheduler) == {"RunTask", "PassTaskRoles"}
            assert ref_id(scheduler["RunTask"]["Resource"]) == logical_id(jobs.task_definitions[task.name])
            assert ref_id(scheduler["RunTask"]["Condition"]["ArnEquals"]["ecs:cluster"]) == logical_id(jobs.cluster)
            passed = _as_list(scheduler["PassTaskRoles"]["Resource"])
            assert len(passed) == 2 and {ref_id(r) for r in passed if "Fn::GetAtt" in r} == {execution_id}
            assert any(role_id in output_of(r) for r in passed)
    root = {"AWS": f"arn:aws:iam::{platform.configs[stage].account}:root"}
    for key in (data.keys.storage, data.keys.secrets, data.keys.messaging):
        policy = data_tmpl["Resources"][logical_id(key)]["Properties"]["KeyPolicy"]["Statement"]
        assert any(s.get("Principal") == root and s["Action"] == "kms:*" for s in policy), "IAM policies count"


def test_action_requests_consumer(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].platform
    tmpl = template(examples, stage)
    stack = platform_stack(examples, stage)
    function = tmpl["Resources"][logical_id(stack.action_consumer.function)]["Properties"]
    assert function["ReservedConcurrentExecutions"] == config.consumer_reserved_concurrency
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Handler"] == "handler.handler"
    assert len(function["VpcConfig"]["SubnetIds"]) == 3
    log_group = tmpl["Resources"][ref_id(function["LoggingConfig"]["LogGroup"])]["Properties"]
    assert "KmsKeyId" in log_group
    (mapping,) = props(tmpl, "AWS::Lambda::EventSourceMapping")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = examples.stages[stage].data.messaging.queues["action-requests"]
    assert logical_id(queue) in output_of(mapping["EventSourceArn"])
