"""Event-driven messaging (seeds 000, 001): SNS topics fanned out to SQS queues with DLQs, an ordered
FIFO queue, and a custom EventBridge bus with an archive."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from environments.schema.data import MessagingConfig

TOPICS = ("ticket-events", "notification-requests", "knowledge-updates", "action-requests")


class Messaging(Construct):
    """`topics` and `queues` (by topic name), `dead_letter_queues` (every DLQ, FIFO included),
    `ordered_tasks` (FIFO) and `event_bus`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        messaging: MessagingConfig,
        encryption_key: kms.IKey,
        event_bus_name: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._messaging = messaging
        self._key = encryption_key
        # Messages waiting or dead-lettered are data too: prod keeps the queues when the stack goes.
        self._removal_policy = removal_policy
        self.topics: dict[str, sns.Topic] = {}
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: list[sqs.Queue] = []
        for name in TOPICS:
            construct_name = "".join(part.capitalize() for part in name.split("-"))
            topic = sns.Topic(
                self, f"{construct_name}Topic", display_name=name, master_key=encryption_key, enforce_ssl=True
            )
            queue = self._queue_with_dlq(construct_name, fifo=False)
            self._subscribe(construct_name, topic, queue)
            self.topics[name] = topic
            self.queues[name] = queue
        self.ordered_tasks = self._queue_with_dlq("OrderedTasks", fifo=True)
        # SNS encrypts what it delivers to the queues with their key. CDK's SqsSubscription would name each
        # topic in the key policy, and with one key for topics and queues that is a key <-> topic cycle;
        # one statement for this account's topics avoids it.
        stack = cdk.Stack.of(self)
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSnsDeliveryToEncryptedQueues",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="sns", resource="*", arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
                        )
                    },
                },
            )
        )

        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=event_bus_name, kms_key=encryption_key)
        self.event_archive = self.event_bus.archive(
            "Archive",
            description="Replayable history of the platform's events",
            event_pattern=events.EventPattern(account=[cdk.Stack.of(self).account]),
            retention=cdk.Duration.days(messaging.event_archive_retention_days),
        )

    def _subscribe(self, name: str, topic: sns.Topic, queue: sqs.Queue) -> None:
        """Deliver `topic` to `queue` (raw messages), with the queue policy that lets only this topic send."""
        allowed = queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
            )
        )
        subscription = sns.Subscription(
            self,
            f"{name}Subscription",
            topic=topic,
            endpoint=queue.queue_arn,
            protocol=sns.SubscriptionProtocol.SQS,
            raw_message_delivery=True,
        )
        if allowed.policy_dependable:
            subscription.node.add_dependency(allowed.policy_dependable)

    def _queue_with_dlq(self, name: str, *, fifo: bool) -> sqs.Queue:
        """A queue whose failures land in a DLQ that is kept longer than the queue itself."""
        dead_letter_queue = encrypted_queue(
            self,
            f"{name}DeadLetterQueue",
            encryption_key=self._key,
            retention=cdk.Duration.days(self._messaging.dlq_retention_days),
            removal_policy=self._removal_policy,
            fifo=fifo,
        )
        self.dead_letter_queues.append(dead_letter_queue)
        return encrypted_queue(
            self,
            f"{name}Queue",
            encryption_key=self._key,
            retention=cdk.Duration.days(self._messaging.queue_retention_days),
            removal_policy=self._removal_policy,
            fifo=fifo,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letter_queue, max_receive_count=self._messaging.max_receive_count
            ),
        )


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    retention: cdk.Duration,
    removal_policy: cdk.RemovalPolicy,
    fifo: bool = False,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """A KMS-encrypted queue that refuses requests without TLS."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=retention,
        fifo=fifo or None,
        content_based_deduplication=fifo or None,
        dead_letter_queue=dead_letter_queue,
        removal_policy=removal_policy,
    )
