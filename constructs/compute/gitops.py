"""Argo CD (seed 002's GitOps): the argo-cd chart in its own namespace on the system nodes, its server reachable
only inside the cluster, repository credentials synced from Secrets Manager, and an ApplicationSet that deploys
one Application per service from the stage's overlay in Git, with the stage's deploy-time values (ECR images,
tag, namespace, region) given as kustomize overrides so that Git holds no account, region or ARN."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IDependable
from constructs.common.acknowledgments import acknowledge
from constructs.common.pod_identity import PodIdentityRole
from constructs.compute.eks_cluster import SYSTEM_NODE_SELECTOR, SYSTEM_TOLERATION
from constructs.compute.secrets_store import (
    DRIVER,
    secret_provider_class,
    secrets_manager_object,
    ssm_parameter_object,
)
from constructs.data.workload_identities import replica_secret_arn

from environments.schema.workloads import GitOpsConfig, ServiceConfig

NAMESPACE = "argocd"
RELEASE = "argocd"
"""The release name; the chart then names its objects argocd-<component>."""
REPO_SERVER = "argocd-repo-server"
"""The repo server's service account: it clones the repository, so it mounts the credentials."""
REPOSITORY_CLASS = "repository-credentials"
REPOSITORY_SECRET = "platform-repository"
"""The Kubernetes Secret the CSI driver mirrors the credentials into; Argo CD finds it by its label."""
REPOSITORY_FIELDS = ("url", "username", "password")
PROJECT = "workloads"
APPLICATION_SET = "workloads"
IN_CLUSTER = "https://kubernetes.default.svc"
CONTAINER = "app"
"""The name of every workload's main container (workloads/base), which the deploy-time patch targets."""
DEPLOYED_KINDS = (
    ("apps", "Deployment"),
    ("", "Service"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
)
"""What the workloads project may create: namespaced, and nothing else (no cluster-scoped kind at all)."""
RESOURCES = {
    "controller": ("250m", "512Mi", "1", "1Gi"),
    "server": ("50m", "128Mi", "500m", "256Mi"),
    "repoServer": ("100m", "256Mi", "1", "1Gi"),
    "applicationSet": ("50m", "128Mi", "500m", "256Mi"),
    "redis": ("50m", "64Mi", "200m", "128Mi"),
}
"""Component -> requests (cpu, memory) and limits (cpu, memory): small enough for two system nodes."""


class GitOps(Construct):
    """`credentials` (the secret the operator fills in), `repository_url` (its SSM parameter), `repo_server_role`,
    `chart`, and `objects` (AppProject and ApplicationSet) applied as `applications` after the chart's CRDs.
    Everything waits for `nodes` (the system group) and `secrets_store` (the CSI provider)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        gitops: GitOpsConfig,
        services: Sequence[ServiceConfig],
        repositories: Mapping[str, ecr.IRepository],
        stage: str,
        secrets_key: kms.IKey,
        nodes: IDependable,
        secrets_store: IDependable,
        removal_policy: cdk.RemovalPolicy,
        secret_replicas: Sequence[secretsmanager.ReplicaRegion] = (),
        replicated: bool = False,
    ) -> None:
        """`secret_replicas`: the regions (and keys) the repository credentials are replicated to; `replicated`:
        this is a secondary region, where they are the primary's replica (same name), read rather than made."""
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.credentials: secretsmanager.ISecret = (
            secretsmanager.Secret.from_secret_name_v2(self, "RepositoryCredentials", gitops.credentials_secret)
            if replicated
            else self._credentials(gitops, secrets_key, removal_policy, secret_replicas)
        )
        # Not a secret: beside the credentials so that the synced repository Secret holds the URL as well.
        url_parameter = f"{gitops.credentials_secret}-url"
        self.repository_url = ssm.StringParameter(
            self,
            "RepositoryUrl",
            parameter_name=url_parameter,
            string_value=gitops.repository_url,
            description="The Git repository Argo CD deploys from",
        )
        self.repo_server_role = PodIdentityRole(
            self,
            "RepoServerIdentity",
            cluster=cluster,
            namespace=NAMESPACE,
            service_account=REPO_SERVER,
            description="Argo CD repo server: reads its Git credentials",
            statements=[
                iam.PolicyStatement(
                    sid="Credentials",
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    # A replica read by name: its ARN ends in six characters Secrets Manager chose.
                    resources=[
                        replica_secret_arn(cdk.Stack.of(self), gitops.credentials_secret)
                        if replicated
                        else self.credentials.secret_arn
                    ],
                ),
                iam.PolicyStatement(
                    sid="CredentialsKey",
                    actions=["kms:Decrypt"],
                    resources=[secrets_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="RepositoryUrl", actions=["ssm:GetParameters"], resources=[self.repository_url.parameter_arn]
                ),
            ],
        )

        namespace = eks.KubernetesManifest(
            self,
            "Namespace",
            cluster=cluster,
            manifest=[{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}],
        )
        credentials_class = eks.KubernetesManifest(
            self,
            "RepositoryCredentialsClass",
            cluster=cluster,
            manifest=[
                secret_provider_class(
                    REPOSITORY_CLASS,
                    NAMESPACE,
                    region=region,
                    objects=[
                        secrets_manager_object(gitops.credentials_secret, "credentials", keys=("username", "password")),
                        ssm_parameter_object(url_parameter, "url"),
                    ],
                    synced_secret={
                        "secretName": REPOSITORY_SECRET,
                        "type": "Opaque",
                        "labels": {"argocd.argoproj.io/secret-type": "repository"},
                        "data": [{"objectName": field, "key": field} for field in REPOSITORY_FIELDS],
                    },
                )
            ],
        )
        credentials_class.node.add_dependency(namespace, secrets_store)

        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=cluster,
            repository="https://argoproj.github.io/argo-helm",
            chart="argo-cd",
            release=RELEASE,
            version=gitops.chart_version,
            namespace=NAMESPACE,
            create_namespace=False,
            wait=True,
            values=_chart_values(gitops.replicas),
        )
        self.chart.node.add_dependency(nodes, credentials_class, self.repo_server_role.association)

        self.objects = [
            _project(gitops, sorted({service.namespace for service in services})),
            _application_set(gitops, services, repositories, stage=stage, region=region),
        ]
        self.applications = eks.KubernetesManifest(self, "Applications", cluster=cluster, manifest=self.objects)
        self.applications.node.add_dependency(self.chart)

    def _credentials(
        self,
        gitops: GitOpsConfig,
        secrets_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        secret_replicas: Sequence[secretsmanager.ReplicaRegion],
    ) -> secretsmanager.Secret:
        """The credentials the operator fills in (a generated placeholder until then), replicated to
        `secret_replicas`."""
        credentials = secretsmanager.Secret(
            self,
            "RepositoryCredentials",
            secret_name=gitops.credentials_secret,
            description="Argo CD's Git credentials: username and password (a token); placeholder until set",
            encryption_key=secrets_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": "replace-me"}),
                generate_string_key="password",
                exclude_punctuation=True,
            ),
            removal_policy=removal_policy,
            replica_regions=list(secret_replicas) or None,
        )
        issued = "The Git host issues the token; it is rotated there and then stored here."
        acknowledge(credentials, "AwsSolutions-SMG4", issued)
        return credentials


def _chart_values(replicas: int) -> dict[str, Any]:
    """Every component on the system nodes (the chart falls back to `global`), spread softly over them (hard
    anti-affinity would leave a replica, or a rolling update's extra pod, Pending on two nodes); `replicas` of
    the server, repo server and ApplicationSet controller with a budget above one. One application controller:
    it shards by cluster and this is one cluster. One Redis: Argo CD uses it as a disposable cache, and the
    chart's Redis HA needs three nodes. No Dex or notifications: nothing here configures them."""
    budget = {"enabled": True, "minAvailable": 1} if replicas > 1 else {"enabled": False}

    def sized(component: str) -> dict[str, Any]:
        cpu, memory, cpu_limit, memory_limit = RESOURCES[component]
        return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}

    credentials = "repository-credentials"
    return {
        "global": {
            "nodeSelector": SYSTEM_NODE_SELECTOR,
            "tolerations": [SYSTEM_TOLERATION],
            "affinity": {"podAntiAffinity": "soft"},
        },
        "controller": {"replicas": 1, "resources": sized("controller")},
        # ClusterIP and no Ingress: reached with `kubectl port-forward` by a cluster admin, never from outside.
        "server": {
            "replicas": replicas,
            "pdb": budget,
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "resources": sized("server"),
        },
        # The mount is what makes the CSI driver keep the repository Secret in sync while the repo server runs.
        "repoServer": {
            "replicas": replicas,
            "pdb": budget,
            "serviceAccount": {"name": REPO_SERVER},
            "volumes": [
                {
                    "name": credentials,
                    "csi": {
                        "driver": DRIVER,
                        "readOnly": True,
                        "volumeAttributes": {"secretProviderClass": REPOSITORY_CLASS},
                    },
                }
            ],
            "volumeMounts": [{"name": credentials, "mountPath": "/mnt/repository-credentials", "readOnly": True}],
            "resources": sized("repoServer"),
        },
        "applicationSet": {"replicas": replicas, "pdb": budget, "resources": sized("applicationSet")},
        "redis": {"resources": sized("redis")},
        "redis-ha": {"enabled": False},
        "dex": {"enabled": False},
        "notifications": {"enabled": False},
    }


def _project(gitops: GitOpsConfig, namespaces: Sequence[str]) -> dict[str, Any]:
    """What the workloads may be: from the stage's repository, into the services' namespaces, of DEPLOYED_KINDS."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": PROJECT, "namespace": NAMESPACE},
        "spec": {
            "description": "The platform's services, from workloads/ in Git",
            "sourceRepos": [gitops.repository_url],
            "destinations": [{"server": IN_CLUSTER, "namespace": namespace} for namespace in namespaces],
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": [{"group": group, "kind": kind} for group, kind in DEPLOYED_KINDS],
        },
    }


def _application_set(
    gitops: GitOpsConfig,
    services: Sequence[ServiceConfig],
    repositories: Mapping[str, ecr.IRepository],
    *,
    stage: str,
    region: str,
) -> dict[str, Any]:
    """One Application per service (seed 002's ApplicationSet): `<path>/<service>` at `revision`, with the image of
    the service's ECR repository at the configured tag, its namespace, its namespace's priority class (Tenancy's
    `<namespace>-priority`) and the stage's region as kustomize overrides."""
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "{{.name}}"},
        "spec": {
            "template": {
                "spec": {
                    "priorityClassName": "{{.namespace}}-priority",
                    "containers": [
                        {
                            "name": CONTAINER,
                            "env": [
                                {"name": "AWS_REGION", "value": region},
                                {"name": "PLATFORM_STAGE", "value": stage},
                            ],
                        }
                    ],
                }
            }
        },
    }
    elements = [
        {
            "name": service.name,
            "namespace": service.namespace,
            "image": f"{repositories[service.name].repository_uri}:{gitops.image_tag}",
        }
        for service in services
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": APPLICATION_SET, "namespace": NAMESPACE},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            # Deleting the ApplicationSet (gitops turned off) leaves the running workloads in place.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": {
                "metadata": {"name": "{{.name}}"},
                "spec": {
                    "project": PROJECT,
                    "source": {
                        "repoURL": gitops.repository_url,
                        "targetRevision": gitops.revision,
                        "path": f"{gitops.path}/{{{{.name}}}}",
                        "kustomize": {
                            "namespace": "{{.namespace}}",
                            "images": ["{{.name}}={{.image}}"],
                            "patches": [
                                {"target": {"kind": "Deployment", "name": "{{.name}}"}, "patch": json.dumps(patch)}
                            ],
                        },
                    },
                    "destination": {"server": IN_CLUSTER, "namespace": "{{.namespace}}"},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
                    },
                },
            },
        },
    }
