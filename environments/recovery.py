"""The recovery model of a stage, from its StageConfig alone: every stateful component the stage builds, how
its data reaches the failover region, what a regional loss costs in data (RPO) and in time (RTO).

The failover region is the first secondary (`regions.1`): it holds the models file system's replica as well
as every other copy. The RPO of a component is what AWS states for its mechanism (the figure and where AWS
says it are kept beside the number); the RTO of a regional loss is the decision to fail over, then the
promotions, which run side by side where they are independent (the database, the file system, the secrets,
the compute), then verifying; the DNS switch runs from the loss on, by health checks, and so does CloudFront's
images path, per request, to its origin group's replica (images_failover_region). Steps AWS gives no time
for carry our budget, marked as such. Every secondary region runs the platform, so the failover region has
compute; a standby one adds its scale-up to the RTO. `recovery_problems` holds a stage to its
`recovery.rto_minutes` and
`recovery.rpo_minutes`; docs/recovery.md shows the model (tools/recovery.py writes it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from environments.schema.edge import IMAGES_CONNECTION_ATTEMPTS, IMAGES_CONNECTION_TIMEOUT_SECONDS
from environments.schema.regions import RecoveryComponent, RegionConfig, images_failover_region

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig

SECOND = 1 / 60


@dataclass(frozen=True)
class Step:
    """One promotion step: the command (or action), its time and what that time rests on. Steps of one
    `track` run one after another; tracks run side by side."""

    action: str
    minutes: float
    basis: str
    track: str


@dataclass(frozen=True)
class Mechanism:
    """How a component's data reaches the failover region. `rpo_minutes` None: no copy there, or no time
    bound on the copy (either way a regional loss may lose any amount)."""

    name: str
    rpo_minutes: float | None
    figure: str
    source: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Component:
    """A stateful component: `field` is the config field that chooses its mechanism (where a problem with it
    is reported); `outside_rpo` the reason the stage file gives for accepting its loss, if it does."""

    key: RecoveryComponent
    name: str
    field: str
    mechanism: Mechanism
    remedy: str
    outside_rpo: str | None = None

    @property
    def counted(self) -> bool:
        """Whether the stage's RPO covers this component (not declared outside it)."""
        return self.outside_rpo is None


@dataclass(frozen=True)
class RtoTerm:
    """One term of the RTO sum, as the table shows it."""

    label: str
    minutes: float
    basis: str


# The Route 53 failover each region's platform builds (constructs/compute/ingress_records.py): a health check
# per region reads an alarm on its load balancer's own 5xx (ELB_5XX_MINUTES minutes in a row), the health
# check follows the alarm's state, and the alias records to a load balancer answer with a 60 s TTL.
ALARM_MINUTES = 3
"""ELB_5XX_MINUTES (tests/tools/test_recovery.py keeps them equal): environments/ does not import constructs."""
ALARM_TO_HEALTH_CHECK_MINUTES = 1
RECORD_TTL_SECONDS = 60
DNS_MINUTES = ALARM_MINUTES + ALARM_TO_HEALTH_CHECK_MINUTES + RECORD_TTL_SECONDS / 60
DNS_BASIS = (
    f"the load balancer's 5xx alarm ({ALARM_MINUTES} minutes), the Route 53 health check that reads it (our "
    f"budget: {ALARM_TO_HEALTH_CHECK_MINUTES} minute; Amazon Route 53 Developer Guide, health checks that monitor "
    f"CloudWatch alarms), then the {RECORD_TTL_SECONDS} s TTL of the load balancer's alias record; automatic, "
    "from the loss on"
)
# CloudFront's images path (constructs/edge/edge_distribution.py): an origin group that sends a request on to the
# replica when the primary bucket answers S3's errors or 403/404, or after its connection attempts time out.
IMAGES_FAILOVER_MINUTES = IMAGES_CONNECTION_ATTEMPTS * IMAGES_CONNECTION_TIMEOUT_SECONDS / 60
VERIFY_MINUTES = 5.0
SCALE_ACTIVE_MINUTES = 5.0
SCALE_STANDBY_MINUTES = 15.0
SCALE_BASIS = {
    "active": "our budget: the region already runs full capacity; Karpenter adds nodes for the moved load",
    "standby": "our budget: only the system nodes run there; Karpenter launches every other pool's nodes (up "
    "to the primary's maximum) as the moved pods arrive: EC2 launch, node join, image pulls, pods ready",
}
RESTORE_MINUTES = 120.0

DAILY_COPY_MINUTES = 24 * 60 + 5 * 60
WEEKLY_COPY_MINUTES = 7 * 24 * 60 + 5 * 60
"""A recovery point per day (week) plus the plan's 1 h start window and 4 h completion window, after which
AWS Backup copies it to the secondary region's vault."""

AURORA_SOURCE = "Amazon Aurora User Guide, Using Amazon Aurora Global Database"
GLOBAL_DATABASE = Mechanism(
    name="Aurora Global Database (storage-level replication to the secondary cluster)",
    rpo_minutes=SECOND,
    figure="replication lag typically under 1 s (no SLA; the AuroraGlobalDBRPOLag metric shows it)",
    source=AURORA_SOURCE,
    steps=(
        Step(
            "aws rds failover-global-cluster --allow-data-loss",
            5,
            "to the secondary cluster; switchover-global-cluster when the primary is healthy. AWS: a secondary "
            "takes full read/write work typically within a minute; 5 min budgeted with the checks",
            "database",
        ),
    ),
)
GLOBAL_TABLE = Mechanism(
    name="DynamoDB global table (multi-active replica)",
    rpo_minutes=SECOND,
    figure="a new write usually reaches every replica within a second (no SLA; the ReplicationLatency metric)",
    source="Amazon DynamoDB Developer Guide, Global tables",
)
S3_RTC = Mechanism(
    name="S3 cross-region replication with Replication Time Control",
    rpo_minutes=15,
    figure="99.99 % of objects replicated within 15 minutes (SLA)",
    source="Amazon S3 User Guide, Meeting compliance requirements with S3 Replication Time Control",
)
ECR_REPLICATION = Mechanism(
    name="ECR registry replication of the stage's repositories into each secondary region's own",
    rpo_minutes=30,
    figure="most images replicate in under 30 minutes, in rare cases longer (no SLA)",
    source="Amazon ECR User Guide, Private image replication",
)
S3_CRR = Mechanism(
    name="S3 cross-region replication without Replication Time Control",
    rpo_minutes=None,
    figure="no time bound: most objects replicate within 15 minutes, some take a couple of hours or more",
    source="Amazon S3 User Guide, Replicating objects within and across Regions",
)
SECRET_REPLICA = Mechanism(
    name="Secrets Manager replica secret (read-only, under the region's replica key)",
    rpo_minutes=5,
    figure="AWS publishes no replication-latency figure; values change only when rotated or edited "
    "(5 min is our budget)",
    source="AWS Secrets Manager User Guide, Replicate secrets across Regions",
    steps=(
        Step(
            "aws secretsmanager stop-replication-to-replica",
            1,
            "only for a secret that must be written or rotated in the new region; our budget: one call each",
            "secrets",
        ),
    ),
)
EFS_REPLICATION = Mechanism(
    name="EFS replication (read-only destination file system)",
    rpo_minutes=15,
    figure="most changes within a minute, an RPO of 15 minutes for most file systems (no SLA; the "
    "TimeSinceLastSync metric shows the lag)",
    source="AWS News Blog, New - Replication for Amazon Elastic File System (EFS); Amazon EFS User Guide, "
    "Replicating file systems",
    steps=(
        Step(
            "aws efs delete-replication-configuration",
            5,
            "the destination becomes writable; our budget: the deletion takes minutes",
            "file system",
        ),
    ),
)
DERIVED = Mechanism(
    name="none needed: a write-through cache holding no data of its own",
    rpo_minutes=0,
    figure="every item is in the DynamoDB tables it caches",
    source="Amazon DynamoDB Developer Guide, In-memory acceleration with DAX",
)


def backup_copy(frequency: str, rpo_minutes: float, track: str) -> Mechanism:
    """AWS Backup copies only: the newest copy in the region's vault, restored into a new resource."""
    return Mechanism(
        name=f"AWS Backup copy only ({frequency} recovery points copied to the region's vault)",
        rpo_minutes=rpo_minutes,
        figure=f"the backup frequency ({frequency}) plus the plan's start and completion windows (5 h)",
        source="AWS Backup Developer Guide, Creating backup copies across AWS Regions",
        steps=(
            Step(
                "aws backup start-restore-job",
                RESTORE_MINUTES,
                "from the newest copy in the region's BackupCopies vault; our budget: AWS gives no restore time, "
                "it grows with the data",
                track,
            ),
        ),
    )


def not_replicated(where: str) -> Mechanism:
    """No copy outside the primary region."""
    return Mechanism(
        name="not replicated",
        rpo_minutes=None,
        figure=f"{where}; nothing reaches another region",
        source="this repository's templates",
    )


BUCKET_NAMES = {
    "knowledge_documents": "knowledge documents",
    "document_chunks": "document chunks",
    "user_uploads": "user uploads",
    "backups": "backups",
    "audit_logs": "audit logs (object-locked)",
    "images": "images",
    "models": "models",
}
REPLICABLE_BUCKETS = ("knowledge_documents", "document_chunks", "user_uploads", "backups", "images", "models")
OUTSIDE = "list {key} in recovery.outside_rpo with the reason its loss is acceptable"
FASTEST = f"no faster cross-region copy exists for it: raise the target, or {OUTSIDE}"


@dataclass(frozen=True)
class RecoveryModel:
    """The stage's components and its failover to `target`, with the sums the targets are held to."""

    config: StageConfig
    target: RegionConfig
    components: tuple[Component, ...] = field(default=())

    @property
    def rpo_minutes(self) -> float | None:
        """The most the counted components may lose (None: one has no bound)."""
        values = [c.mechanism.rpo_minutes for c in self.components if c.counted]
        if any(v is None for v in values):
            return None
        return max((v for v in values if v is not None), default=0.0)

    def tracks(self) -> dict[str, list[Step]]:
        """The promotion steps of the counted components, by track, plus scaling the target region."""
        tracks: dict[str, list[Step]] = {}
        for component in self.components:
            if component.counted:
                for step in component.mechanism.steps:
                    tracks.setdefault(step.track, []).append(step)
        role = self.target.role
        tracks["compute"] = [
            Step(
                f"scale {self.target.region} ({role}): node groups and Karpenter NodePools",
                SCALE_STANDBY_MINUTES if role == "standby" else SCALE_ACTIVE_MINUTES,
                SCALE_BASIS[role],
                "compute",
            )
        ]
        return tracks

    def rto_terms(self) -> list[RtoTerm]:
        """Decision, the longest track, verification: the critical path (the DNS switch runs beside it)."""
        tracks = {name: sum(step.minutes for step in steps) for name, steps in self.tracks().items()}
        longest = max(tracks, key=lambda name: tracks[name])  # the first of equals: the database
        side_by_side = ", ".join(f"{name} {minutes:g}" for name, minutes in sorted(tracks.items()))
        return [
            RtoTerm(
                "detection and decision",
                self.config.recovery.decision_minutes,
                "recovery.decision_minutes: the page, confirming the regional outage, the go",
            ),
            RtoTerm(
                f"promotion ({longest}, the longest track)",
                tracks[longest],
                f"tracks side by side, minutes: {side_by_side}",
            ),
            RtoTerm("verify", VERIFY_MINUTES, "our budget: the runbook's checks"),
        ]

    def beside_terms(self) -> list[RtoTerm]:
        """What switches the traffic by itself from the loss on, beside the critical path: the DNS records and,
        behind CloudFront, the images path's origin group (per request, to its replica)."""
        terms = [RtoTerm("DNS switch (beside the above, from the loss on)", DNS_MINUTES, DNS_BASIS)]
        images = images_failover_region(self.config)
        if images is not None:
            terms.append(
                RtoTerm(
                    f"images path to {images.region}'s replica (beside the above, each request)",
                    IMAGES_FAILOVER_MINUTES,
                    "CloudFront's origin group sends a request on to the replica when the primary bucket answers "
                    f"5xx, 403 or 404, or after {IMAGES_CONNECTION_ATTEMPTS} connection attempts of "
                    f"{IMAGES_CONNECTION_TIMEOUT_SECONDS} s (Amazon CloudFront Developer Guide, Optimize high "
                    "availability with CloudFront origin failover); automatic",
                )
            )
        return terms

    @property
    def rto_minutes(self) -> float:
        return max(*(term.minutes for term in self.beside_terms()), sum(term.minutes for term in self.rto_terms()))


def recovery_model(config: StageConfig) -> RecoveryModel | None:
    """The model of a stage with a secondary region (None without one: nothing to fail over to)."""
    target = config.failover_region
    if target is None:
        return None
    declared = config.recovery.outside_rpo
    return RecoveryModel(
        config,
        target,
        tuple(replace(component, outside_rpo=declared.get(component.key)) for component in _components(config)),
    )


def _components(config: StageConfig) -> list[Component]:
    """Every stateful component `config` builds and its mechanism towards the failover region (`regions.1`)."""
    data, recovery = config.data, config.recovery
    aurora = data.database.engine == "aurora-serverless-v2"
    found = [
        Component(
            "database",
            "PostgreSQL (Aurora Serverless v2)" if aurora else "PostgreSQL (RDS)",
            "data.database.engine",
            GLOBAL_DATABASE if aurora else backup_copy("daily", DAILY_COPY_MINUTES, "database"),
            "use aurora-serverless-v2, which joins an Aurora global database",
        )
    ]
    for table in ("conversations", "sessions"):
        found.append(
            Component(
                f"tables.{table}",  # type: ignore[arg-type]
                f"DynamoDB table {table}",
                "recovery.replicate_tables",
                GLOBAL_TABLE
                if table in recovery.replicate_tables
                else backup_copy("daily", DAILY_COPY_MINUTES, f"table {table}"),
                f"add {table} to recovery.replicate_tables (a global table), or {OUTSIDE}",
            )
        )
    crr = S3_RTC if recovery.rpo_minutes is not None else S3_CRR
    for bucket, name in BUCKET_NAMES.items():
        replicated = bucket in recovery.replicate_buckets
        found.append(
            Component(
                f"buckets.{bucket}",  # type: ignore[arg-type]
                f"S3 bucket {name}",
                "recovery.replicate_buckets" if bucket in REPLICABLE_BUCKETS else "recovery.outside_rpo",
                crr if replicated else not_replicated("versions stay in the primary's bucket"),
                f"add {bucket} to recovery.replicate_buckets, or {OUTSIDE}"
                if bucket in REPLICABLE_BUCKETS
                else OUTSIDE,
            )
        )
    found += [
        Component(
            "secrets",
            "Secrets Manager secrets the workloads read",
            "recovery.rpo_minutes",
            SECRET_REPLICA,
            FASTEST,
        ),
        Component(
            "file_system",
            "EFS shared-models file system",
            "recovery.rpo_minutes",
            EFS_REPLICATION,
            FASTEST,
        ),
        Component(
            "cache",
            "ElastiCache for Valkey",
            "recovery.outside_rpo",
            not_replicated("snapshots stay in the primary region (no Global Datastore)"),
            OUTSIDE,
        ),
        Component(
            "messaging",
            "SQS queues, SNS topics, EventBridge bus and archive",
            "recovery.outside_rpo",
            not_replicated("messages in flight and the event archive stay in the primary region"),
            OUTSIDE,
        ),
    ]
    if data.graph.mode != "off":
        found.append(
            Component(
                "graph",
                "Neptune graph",
                "recovery.outside_rpo",
                not_replicated("automated backups stay in the primary region (no Neptune global database)"),
                OUTSIDE,
            )
        )
    if data.time_series.enabled:
        found.append(
            Component(
                "time_series",
                "Timestream for InfluxDB",
                "recovery.outside_rpo",
                not_replicated("the instance and its storage are in the primary region only"),
                OUTSIDE,
            )
        )
    if data.accelerator.enabled:
        found.append(Component("accelerator", "DAX cluster", "recovery.outside_rpo", DERIVED, OUTSIDE))
    # Every active region runs its own lake, stream, Kafka and search (AnalyticsStack): the primary's are not copied.
    own = [region.region for region in config.secondaries if region.role == "active"]
    runs_own = f"; each active secondary region ({', '.join(own)}) runs its own" if own else ""
    found += [
        Component(
            "lake",
            "data lake buckets (raw, processed, curated) and the Glue catalog",
            "recovery.outside_rpo",
            not_replicated(f"the primary's zones and catalog are not copied{runs_own}"),
            OUTSIDE,
        ),
        Component(
            "stream",
            "Kinesis data stream",
            "recovery.outside_rpo",
            not_replicated(
                f"records retained {config.analytics.streaming.retention_hours} h in the primary region{runs_own}"
            ),
            OUTSIDE,
        ),
        Component(
            "stream_state",
            "stream processor's DynamoDB state table",
            "recovery.outside_rpo",
            not_replicated(f"a regional table outside the backup plans{runs_own}"),
            OUTSIDE,
        ),
    ]
    if config.analytics.msk.mode != "off":
        found.append(
            Component(
                "kafka",
                f"MSK ({config.analytics.msk.mode}) topics",
                "recovery.outside_rpo",
                not_replicated(f"topics live on the primary region's brokers (no MSK Replicator){runs_own}"),
                OUTSIDE,
            )
        )
    found += [
        Component(
            "search",
            "OpenSearch log domain",
            "recovery.outside_rpo",
            not_replicated(f"indexes and automated snapshots stay in the primary region{runs_own}"),
            OUTSIDE,
        ),
        Component(
            "container_images",
            "ECR images",
            "recovery.rpo_minutes",
            ECR_REPLICATION,
            FASTEST,
        ),
    ]
    return found


def recovery_problems(config: StageConfig) -> list[tuple[str, str]]:
    """Whether the design can meet `recovery.rto_minutes` and `recovery.rpo_minutes`, as (field, message)."""
    recovery = config.recovery
    targets = [(name, getattr(recovery, name)) for name in ("rto_minutes", "rpo_minutes")]
    model = recovery_model(config)
    if model is None:
        return [
            (f"recovery.{name}", "a regional-loss target needs a secondary region to fail over to; regions lists "
             "only the primary")
            for name, value in targets
            if value is not None
        ] + (
            [("recovery.outside_rpo", "the stage has one region: there is no regional loss to recover from")]
            if recovery.outside_rpo
            else []
        )  # fmt: skip
    problems: list[tuple[str, str]] = []
    built = {component.key: component for component in model.components}
    for key in recovery.outside_rpo:
        component = built.get(key)
        if component is None:
            problems.append((f"recovery.outside_rpo.{key}", f"the stage builds no {key.replace('_', ' ')}"))
        elif recovery.rpo_minutes is None:
            problems.append((f"recovery.outside_rpo.{key}", "there is no recovery.rpo_minutes to be outside of"))
        elif (rpo := component.mechanism.rpo_minutes) is not None and rpo <= recovery.rpo_minutes:
            problems.append(
                (
                    f"recovery.outside_rpo.{key}",
                    f"{component.name} meets rpo_minutes {recovery.rpo_minutes} by {component.mechanism.name}; "
                    "remove it",
                )
            )
    if recovery.rpo_minutes is not None:
        for component in model.components:
            rpo = component.mechanism.rpo_minutes
            if component.counted and (rpo is None or rpo > recovery.rpo_minutes):
                problems.append(
                    (
                        component.field,
                        f"{component.name} cannot meet recovery.rpo_minutes {recovery.rpo_minutes}: "
                        f"{component.mechanism.name} (RPO {format_minutes(rpo)}); "
                        f"{component.remedy.format(key=component.key)}",
                    )
                )
    if recovery.rto_minutes is not None and model.rto_minutes > recovery.rto_minutes:
        terms = " + ".join(f"{term.label} {term.minutes:g}" for term in model.rto_terms())
        problems.append(
            (
                "recovery.rto_minutes",
                f"failing over to {model.target.region} takes {model.rto_minutes:g} min by the recovery model "
                f"({terms}), more than {recovery.rto_minutes}",
            )
        )
    return problems


def format_minutes(minutes: float | None) -> str:
    """`~1 s`, `15 min`, `29 h`, `7 d`; `unbounded` for None."""
    if minutes is None:
        return "unbounded"
    if minutes == 0:
        return "0 (no data of its own)"
    if minutes < 1:
        return f"~{round(minutes * 60)} s"
    if minutes < 120:
        return f"{minutes:g} min"
    if minutes < 3 * 24 * 60:
        return f"{minutes / 60:g} h"
    return f"{minutes / 60 / 24:g} d"
