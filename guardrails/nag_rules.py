"""cdk-nag's rules that several packs share, and checkov's checks for the same concerns: one
acknowledgment (constructs/common/acknowledgments.py) covers each pack's ID for a concern at once.

cdk-nag's packs apply the same rule function under their own IDs: NIST 800-53 rev 5, HIPAA Security and
PCI DSS 3.2.1 by the function's name (`HIPAA.Security-S3BucketReplicationEnabled`), AwsSolutions by a
short suffix (`AwsSolutions-S1`). SHARED_RULES is read off cdk-nag's packs (test_acknowledgments.py
compares it with the installed release and prints the table to paste after an upgrade).
"""

from __future__ import annotations

IAM_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")
"""Where an IAM policy document can be in a template."""

PACK_NAMES = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
"""The cdk-nag packs a stage may choose (compliance.packs), by the prefix of their rule IDs."""

SHARED_RULES: dict[str, tuple[str, ...]] = {
    "ALBHttpDropInvalidHeaderEnabled": (
        "HIPAA.Security-ALBHttpDropInvalidHeaderEnabled",
        "PCI.DSS.321-ALBHttpDropInvalidHeaderEnabled",
    ),
    "ALBHttpToHttpsRedirection": (
        "NIST.800.53.R5-ALBHttpToHttpsRedirection",
        "HIPAA.Security-ALBHttpToHttpsRedirection",
        "PCI.DSS.321-ALBHttpToHttpsRedirection",
    ),
    "ALBWAFEnabled": ("NIST.800.53.R5-ALBWAFEnabled", "PCI.DSS.321-ALBWAFEnabled"),
    "APIGWAssociatedWithWAF": (
        "AwsSolutions-APIG3",
        "NIST.800.53.R5-APIGWAssociatedWithWAF",
        "PCI.DSS.321-APIGWAssociatedWithWAF",
    ),
    "APIGWCacheEnabledAndEncrypted": (
        "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
        "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
    ),
    "APIGWExecutionLoggingEnabled": (
        "AwsSolutions-APIG6",
        "NIST.800.53.R5-APIGWExecutionLoggingEnabled",
        "HIPAA.Security-APIGWExecutionLoggingEnabled",
        "PCI.DSS.321-APIGWExecutionLoggingEnabled",
    ),
    "APIGWSSLEnabled": (
        "NIST.800.53.R5-APIGWSSLEnabled",
        "HIPAA.Security-APIGWSSLEnabled",
        "PCI.DSS.321-APIGWSSLEnabled",
    ),
    "AutoScalingGroupELBHealthCheckRequired": (
        "NIST.800.53.R5-AutoScalingGroupELBHealthCheckRequired",
        "HIPAA.Security-AutoScalingGroupELBHealthCheckRequired",
        "PCI.DSS.321-AutoScalingGroupELBHealthCheckRequired",
    ),
    "AutoScalingLaunchConfigPublicIpDisabled": (
        "NIST.800.53.R5-AutoScalingLaunchConfigPublicIpDisabled",
        "HIPAA.Security-AutoScalingLaunchConfigPublicIpDisabled",
        "PCI.DSS.321-AutoScalingLaunchConfigPublicIpDisabled",
    ),
    "CloudTrailCloudWatchLogsEnabled": (
        "NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled",
        "HIPAA.Security-CloudTrailCloudWatchLogsEnabled",
        "PCI.DSS.321-CloudTrailCloudWatchLogsEnabled",
    ),
    "CloudTrailEncryptionEnabled": (
        "NIST.800.53.R5-CloudTrailEncryptionEnabled",
        "HIPAA.Security-CloudTrailEncryptionEnabled",
        "PCI.DSS.321-CloudTrailEncryptionEnabled",
    ),
    "CloudTrailLogFileValidationEnabled": (
        "NIST.800.53.R5-CloudTrailLogFileValidationEnabled",
        "HIPAA.Security-CloudTrailLogFileValidationEnabled",
        "PCI.DSS.321-CloudTrailLogFileValidationEnabled",
    ),
    "CloudWatchAlarmAction": ("NIST.800.53.R5-CloudWatchAlarmAction", "HIPAA.Security-CloudWatchAlarmAction"),
    "CloudWatchLogGroupEncrypted": (
        "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        "HIPAA.Security-CloudWatchLogGroupEncrypted",
        "PCI.DSS.321-CloudWatchLogGroupEncrypted",
    ),
    "CloudWatchLogGroupRetentionPeriod": (
        "NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod",
        "HIPAA.Security-CloudWatchLogGroupRetentionPeriod",
        "PCI.DSS.321-CloudWatchLogGroupRetentionPeriod",
    ),
    "CodeBuildProjectEnvVarAwsCred": (
        "HIPAA.Security-CodeBuildProjectEnvVarAwsCred",
        "PCI.DSS.321-CodeBuildProjectEnvVarAwsCred",
    ),
    "CodeBuildProjectSourceRepoUrl": (
        "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
        "PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
    ),
    "DMSReplicationNotPublic": (
        "NIST.800.53.R5-DMSReplicationNotPublic",
        "HIPAA.Security-DMSReplicationNotPublic",
        "PCI.DSS.321-DMSReplicationNotPublic",
    ),
    "DynamoDBAutoScalingEnabled": (
        "NIST.800.53.R5-DynamoDBAutoScalingEnabled",
        "HIPAA.Security-DynamoDBAutoScalingEnabled",
    ),
    "DynamoDBInBackupPlan": ("NIST.800.53.R5-DynamoDBInBackupPlan", "HIPAA.Security-DynamoDBInBackupPlan"),
    "DynamoDBPITREnabled": (
        "AwsSolutions-DDB3",
        "NIST.800.53.R5-DynamoDBPITREnabled",
        "HIPAA.Security-DynamoDBPITREnabled",
    ),
    "EC2EBSInBackupPlan": ("NIST.800.53.R5-EC2EBSInBackupPlan", "HIPAA.Security-EC2EBSInBackupPlan"),
    "EC2EBSOptimizedInstance": ("NIST.800.53.R5-EC2EBSOptimizedInstance", "HIPAA.Security-EC2EBSOptimizedInstance"),
    "EC2IMDSv2Enabled": ("NIST.800.53.R5-EC2IMDSv2Enabled", "HIPAA.Security-EC2IMDSv2Enabled"),
    "EC2InstanceDetailedMonitoringEnabled": (
        "AwsSolutions-EC28",
        "HIPAA.Security-EC2InstanceDetailedMonitoringEnabled",
    ),
    "EC2InstanceNoPublicIp": (
        "NIST.800.53.R5-EC2InstanceNoPublicIp",
        "HIPAA.Security-EC2InstanceNoPublicIp",
        "PCI.DSS.321-EC2InstanceNoPublicIp",
    ),
    "EC2InstanceProfileAttached": (
        "NIST.800.53.R5-EC2InstanceProfileAttached",
        "HIPAA.Security-EC2InstanceProfileAttached",
        "PCI.DSS.321-EC2InstanceProfileAttached",
    ),
    "EC2InstancesInVPC": (
        "NIST.800.53.R5-EC2InstancesInVPC",
        "HIPAA.Security-EC2InstancesInVPC",
        "PCI.DSS.321-EC2InstancesInVPC",
    ),
    "EC2RestrictedCommonPorts": (
        "NIST.800.53.R5-EC2RestrictedCommonPorts",
        "HIPAA.Security-EC2RestrictedCommonPorts",
        "PCI.DSS.321-EC2RestrictedCommonPorts",
    ),
    "EC2RestrictedSSH": (
        "NIST.800.53.R5-EC2RestrictedSSH",
        "HIPAA.Security-EC2RestrictedSSH",
        "PCI.DSS.321-EC2RestrictedSSH",
    ),
    "ECSTaskDefinitionUserForHostMode": (
        "NIST.800.53.R5-ECSTaskDefinitionUserForHostMode",
        "HIPAA.Security-ECSTaskDefinitionUserForHostMode",
        "PCI.DSS.321-ECSTaskDefinitionUserForHostMode",
    ),
    "EFSEncrypted": (
        "AwsSolutions-EFS1",
        "NIST.800.53.R5-EFSEncrypted",
        "HIPAA.Security-EFSEncrypted",
        "PCI.DSS.321-EFSEncrypted",
    ),
    "EFSInBackupPlan": ("NIST.800.53.R5-EFSInBackupPlan", "HIPAA.Security-EFSInBackupPlan"),
    "ELBACMCertificateRequired": (
        "NIST.800.53.R5-ELBACMCertificateRequired",
        "HIPAA.Security-ELBACMCertificateRequired",
        "PCI.DSS.321-ELBACMCertificateRequired",
    ),
    "ELBCrossZoneLoadBalancingEnabled": (
        "AwsSolutions-ELB4",
        "NIST.800.53.R5-ELBCrossZoneLoadBalancingEnabled",
        "HIPAA.Security-ELBCrossZoneLoadBalancingEnabled",
    ),
    "ELBDeletionProtectionEnabled": (
        "NIST.800.53.R5-ELBDeletionProtectionEnabled",
        "HIPAA.Security-ELBDeletionProtectionEnabled",
    ),
    "ELBLoggingEnabled": (
        "AwsSolutions-ELB2",
        "NIST.800.53.R5-ELBLoggingEnabled",
        "HIPAA.Security-ELBLoggingEnabled",
        "PCI.DSS.321-ELBLoggingEnabled",
    ),
    "ELBTlsHttpsListenersOnly": (
        "AwsSolutions-ELB5",
        "NIST.800.53.R5-ELBTlsHttpsListenersOnly",
        "HIPAA.Security-ELBTlsHttpsListenersOnly",
        "PCI.DSS.321-ELBTlsHttpsListenersOnly",
    ),
    "ELBv2ACMCertificateRequired": (
        "NIST.800.53.R5-ELBv2ACMCertificateRequired",
        "HIPAA.Security-ELBv2ACMCertificateRequired",
        "PCI.DSS.321-ELBv2ACMCertificateRequired",
    ),
    "EMRKerberosEnabled": ("HIPAA.Security-EMRKerberosEnabled", "PCI.DSS.321-EMRKerberosEnabled"),
    "ElastiCacheRedisClusterAutomaticBackup": (
        "NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup",
        "HIPAA.Security-ElastiCacheRedisClusterAutomaticBackup",
    ),
    "ElasticBeanstalkEnhancedHealthReportingEnabled": (
        "NIST.800.53.R5-ElasticBeanstalkEnhancedHealthReportingEnabled",
        "HIPAA.Security-ElasticBeanstalkEnhancedHealthReportingEnabled",
    ),
    "ElasticBeanstalkManagedUpdatesEnabled": (
        "AwsSolutions-EB3",
        "NIST.800.53.R5-ElasticBeanstalkManagedUpdatesEnabled",
        "HIPAA.Security-ElasticBeanstalkManagedUpdatesEnabled",
    ),
    "IAMGroupHasUsers": ("HIPAA.Security-IAMGroupHasUsers", "PCI.DSS.321-IAMGroupHasUsers"),
    "IAMNoInlinePolicy": (
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "HIPAA.Security-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
    ),
    "IAMPolicyNoStatementsWithAdminAccess": (
        "NIST.800.53.R5-IAMPolicyNoStatementsWithAdminAccess",
        "HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess",
        "PCI.DSS.321-IAMPolicyNoStatementsWithAdminAccess",
    ),
    "IAMPolicyNoStatementsWithFullAccess": (
        "NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess",
        "HIPAA.Security-IAMPolicyNoStatementsWithFullAccess",
        "PCI.DSS.321-IAMPolicyNoStatementsWithFullAccess",
    ),
    "IAMUserGroupMembership": (
        "NIST.800.53.R5-IAMUserGroupMembership",
        "HIPAA.Security-IAMUserGroupMembership",
        "PCI.DSS.321-IAMUserGroupMembership",
    ),
    "IAMUserNoPolicies": (
        "NIST.800.53.R5-IAMUserNoPolicies",
        "HIPAA.Security-IAMUserNoPolicies",
        "PCI.DSS.321-IAMUserNoPolicies",
    ),
    "KMSBackingKeyRotationEnabled": (
        "AwsSolutions-KMS5",
        "NIST.800.53.R5-KMSBackingKeyRotationEnabled",
        "PCI.DSS.321-KMSBackingKeyRotationEnabled",
    ),
    "LambdaConcurrency": ("NIST.800.53.R5-LambdaConcurrency", "HIPAA.Security-LambdaConcurrency"),
    "LambdaDLQ": ("NIST.800.53.R5-LambdaDLQ", "HIPAA.Security-LambdaDLQ"),
    "LambdaFunctionPublicAccessProhibited": (
        "NIST.800.53.R5-LambdaFunctionPublicAccessProhibited",
        "HIPAA.Security-LambdaFunctionPublicAccessProhibited",
        "PCI.DSS.321-LambdaFunctionPublicAccessProhibited",
    ),
    "LambdaInsideVPC": (
        "NIST.800.53.R5-LambdaInsideVPC",
        "HIPAA.Security-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
    ),
    "OpenSearchEncryptedAtRest": (
        "AwsSolutions-OS8",
        "NIST.800.53.R5-OpenSearchEncryptedAtRest",
        "HIPAA.Security-OpenSearchEncryptedAtRest",
        "PCI.DSS.321-OpenSearchEncryptedAtRest",
    ),
    "OpenSearchErrorLogsToCloudWatch": (
        "NIST.800.53.R5-OpenSearchErrorLogsToCloudWatch",
        "HIPAA.Security-OpenSearchErrorLogsToCloudWatch",
        "PCI.DSS.321-OpenSearchErrorLogsToCloudWatch",
    ),
    "OpenSearchInVPCOnly": (
        "AwsSolutions-OS1",
        "NIST.800.53.R5-OpenSearchInVPCOnly",
        "HIPAA.Security-OpenSearchInVPCOnly",
        "PCI.DSS.321-OpenSearchInVPCOnly",
    ),
    "OpenSearchNodeToNodeEncryption": (
        "AwsSolutions-OS2",
        "NIST.800.53.R5-OpenSearchNodeToNodeEncryption",
        "HIPAA.Security-OpenSearchNodeToNodeEncryption",
        "PCI.DSS.321-OpenSearchNodeToNodeEncryption",
    ),
    "RDSAutomaticMinorVersionUpgradeEnabled": (
        "HIPAA.Security-RDSAutomaticMinorVersionUpgradeEnabled",
        "PCI.DSS.321-RDSAutomaticMinorVersionUpgradeEnabled",
    ),
    "RDSEnhancedMonitoringEnabled": (
        "NIST.800.53.R5-RDSEnhancedMonitoringEnabled",
        "HIPAA.Security-RDSEnhancedMonitoringEnabled",
    ),
    "RDSInBackupPlan": ("NIST.800.53.R5-RDSInBackupPlan", "HIPAA.Security-RDSInBackupPlan"),
    "RDSInstanceBackupEnabled": (
        "AwsSolutions-RDS13",
        "NIST.800.53.R5-RDSInstanceBackupEnabled",
        "HIPAA.Security-RDSInstanceBackupEnabled",
    ),
    "RDSInstanceDeletionProtectionEnabled": (
        "AwsSolutions-RDS10",
        "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
        "HIPAA.Security-RDSInstanceDeletionProtectionEnabled",
    ),
    "RDSInstancePublicAccess": (
        "NIST.800.53.R5-RDSInstancePublicAccess",
        "HIPAA.Security-RDSInstancePublicAccess",
        "PCI.DSS.321-RDSInstancePublicAccess",
    ),
    "RDSLoggingEnabled": (
        "NIST.800.53.R5-RDSLoggingEnabled",
        "HIPAA.Security-RDSLoggingEnabled",
        "PCI.DSS.321-RDSLoggingEnabled",
    ),
    "RDSMultiAZSupport": ("AwsSolutions-RDS3", "NIST.800.53.R5-RDSMultiAZSupport", "HIPAA.Security-RDSMultiAZSupport"),
    "RDSStorageEncrypted": (
        "AwsSolutions-RDS2",
        "NIST.800.53.R5-RDSStorageEncrypted",
        "HIPAA.Security-RDSStorageEncrypted",
        "PCI.DSS.321-RDSStorageEncrypted",
    ),
    "RedshiftBackupEnabled": (
        "AwsSolutions-RS10",
        "NIST.800.53.R5-RedshiftBackupEnabled",
        "HIPAA.Security-RedshiftBackupEnabled",
    ),
    "RedshiftClusterConfiguration": (
        "NIST.800.53.R5-RedshiftClusterConfiguration",
        "HIPAA.Security-RedshiftClusterConfiguration",
        "PCI.DSS.321-RedshiftClusterConfiguration",
    ),
    "RedshiftClusterMaintenanceSettings": (
        "NIST.800.53.R5-RedshiftClusterMaintenanceSettings",
        "HIPAA.Security-RedshiftClusterMaintenanceSettings",
        "PCI.DSS.321-RedshiftClusterMaintenanceSettings",
    ),
    "RedshiftClusterPublicAccess": (
        "AwsSolutions-RS8",
        "NIST.800.53.R5-RedshiftClusterPublicAccess",
        "HIPAA.Security-RedshiftClusterPublicAccess",
        "PCI.DSS.321-RedshiftClusterPublicAccess",
    ),
    "RedshiftEnhancedVPCRoutingEnabled": (
        "NIST.800.53.R5-RedshiftEnhancedVPCRoutingEnabled",
        "HIPAA.Security-RedshiftEnhancedVPCRoutingEnabled",
        "PCI.DSS.321-RedshiftEnhancedVPCRoutingEnabled",
    ),
    "RedshiftRequireTlsSSL": (
        "AwsSolutions-RS1",
        "NIST.800.53.R5-RedshiftRequireTlsSSL",
        "HIPAA.Security-RedshiftRequireTlsSSL",
        "PCI.DSS.321-RedshiftRequireTlsSSL",
    ),
    "S3BucketLevelPublicAccessProhibited": (
        "AwsSolutions-S2",
        "NIST.800.53.R5-S3BucketLevelPublicAccessProhibited",
        "HIPAA.Security-S3BucketLevelPublicAccessProhibited",
        "PCI.DSS.321-S3BucketLevelPublicAccessProhibited",
    ),
    "S3BucketLoggingEnabled": (
        "AwsSolutions-S1",
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "HIPAA.Security-S3BucketLoggingEnabled",
        "PCI.DSS.321-S3BucketLoggingEnabled",
    ),
    "S3BucketPublicReadProhibited": (
        "NIST.800.53.R5-S3BucketPublicReadProhibited",
        "HIPAA.Security-S3BucketPublicReadProhibited",
        "PCI.DSS.321-S3BucketPublicReadProhibited",
    ),
    "S3BucketPublicWriteProhibited": (
        "NIST.800.53.R5-S3BucketPublicWriteProhibited",
        "HIPAA.Security-S3BucketPublicWriteProhibited",
        "PCI.DSS.321-S3BucketPublicWriteProhibited",
    ),
    "S3BucketReplicationEnabled": (
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "HIPAA.Security-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
    ),
    "S3BucketSSLRequestsOnly": (
        "AwsSolutions-S10",
        "NIST.800.53.R5-S3BucketSSLRequestsOnly",
        "HIPAA.Security-S3BucketSSLRequestsOnly",
        "PCI.DSS.321-S3BucketSSLRequestsOnly",
    ),
    "S3BucketVersioningEnabled": (
        "NIST.800.53.R5-S3BucketVersioningEnabled",
        "HIPAA.Security-S3BucketVersioningEnabled",
        "PCI.DSS.321-S3BucketVersioningEnabled",
    ),
    "S3DefaultEncryptionKMS": (
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "HIPAA.Security-S3DefaultEncryptionKMS",
        "PCI.DSS.321-S3DefaultEncryptionKMS",
    ),
    "SNSEncryptedKMS": (
        "NIST.800.53.R5-SNSEncryptedKMS",
        "HIPAA.Security-SNSEncryptedKMS",
        "PCI.DSS.321-SNSEncryptedKMS",
    ),
    "SQSQueueDLQ": ("AwsSolutions-SQS3",),
    "SageMakerEndpointConfigurationKMSKeyConfigured": (
        "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
        "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
        "PCI.DSS.321-SageMakerEndpointConfigurationKMSKeyConfigured",
    ),
    "SageMakerNotebookInstanceKMSKeyConfigured": (
        "AwsSolutions-SM2",
        "NIST.800.53.R5-SageMakerNotebookInstanceKMSKeyConfigured",
        "HIPAA.Security-SageMakerNotebookInstanceKMSKeyConfigured",
        "PCI.DSS.321-SageMakerNotebookInstanceKMSKeyConfigured",
    ),
    "SageMakerNotebookNoDirectInternetAccess": (
        "AwsSolutions-SM3",
        "NIST.800.53.R5-SageMakerNotebookNoDirectInternetAccess",
        "HIPAA.Security-SageMakerNotebookNoDirectInternetAccess",
        "PCI.DSS.321-SageMakerNotebookNoDirectInternetAccess",
    ),
    "SecretsManagerRotationEnabled": (
        "AwsSolutions-SMG4",
        "NIST.800.53.R5-SecretsManagerRotationEnabled",
        "HIPAA.Security-SecretsManagerRotationEnabled",
    ),
    "SecretsManagerUsingKMSKey": (
        "NIST.800.53.R5-SecretsManagerUsingKMSKey",
        "HIPAA.Security-SecretsManagerUsingKMSKey",
        "PCI.DSS.321-SecretsManagerUsingKMSKey",
    ),
    "VPCDefaultSecurityGroupClosed": (
        "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
        "HIPAA.Security-VPCDefaultSecurityGroupClosed",
        "PCI.DSS.321-VPCDefaultSecurityGroupClosed",
    ),
    "VPCFlowLogsEnabled": (
        "AwsSolutions-VPC7",
        "NIST.800.53.R5-VPCFlowLogsEnabled",
        "HIPAA.Security-VPCFlowLogsEnabled",
        "PCI.DSS.321-VPCFlowLogsEnabled",
    ),
    "VPCNoUnrestrictedRouteToIGW": (
        "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
        "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
        "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW",
    ),
    "VPCSubnetAutoAssignPublicIpDisabled": (
        "NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled",
        "HIPAA.Security-VPCSubnetAutoAssignPublicIpDisabled",
        "PCI.DSS.321-VPCSubnetAutoAssignPublicIpDisabled",
    ),
    "WAFv2LoggingEnabled": (
        "NIST.800.53.R5-WAFv2LoggingEnabled",
        "HIPAA.Security-WAFv2LoggingEnabled",
        "PCI.DSS.321-WAFv2LoggingEnabled",
    ),
}
"""cdk-nag rule function -> its ID in each of PACK_NAMES that applies it (rules in two packs or more)."""

PLATFORM_EQUIVALENTS = {
    "LambdaConcurrency": "Platform-LambdaConcurrency",
    "LambdaDLQ": "Platform-LambdaDLQ",
    "LambdaInsideVPC": "Platform-LambdaInsideVPC",
    "SQSQueueDLQ": "Platform-SqsDlq",
}
"""cdk-nag rule function -> the project pack's rule that checks the same on every function in the templates
(cdk-nag's see only lambda.CfnFunction, not the functions CDK's providers write as raw resources)."""

CHECKOV_CHECKS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "CKV_AWS_18": (("AWS::S3::Bucket",), "S3BucketLoggingEnabled"),
    "CKV_AWS_21": (("AWS::S3::Bucket",), "S3BucketVersioningEnabled"),
    "CKV_AWS_27": (("AWS::SQS::Queue",), None),
    "CKV_AWS_111": (IAM_POLICY_TYPES, "AwsSolutions-IAM5[Resource::*]"),
    "CKV_AWS_115": (("AWS::Lambda::Function",), "LambdaConcurrency"),
    "CKV_AWS_116": (("AWS::Lambda::Function",), "LambdaDLQ"),
    "CKV_AWS_117": (("AWS::Lambda::Function",), "LambdaInsideVPC"),
    "CKV_AWS_118": (("AWS::RDS::DBInstance",), "RDSEnhancedMonitoringEnabled"),
    "CKV_AWS_157": (("AWS::RDS::DBInstance",), "RDSMultiAZSupport"),
    "CKV_AWS_173": (("AWS::Lambda::Function",), None),
    "CKV_AWS_260": (("AWS::EC2::SecurityGroup",), "Platform-OpenIngress[tcp:80]"),
}
"""The checkov checks this project skips somewhere -> the resource types each reads and the concern (a cdk-nag
rule function or finding ID) that is the same check, or None where no pack has it (acknowledged by check ID).
CKV_AWS_111 (writes without a resource constraint) is AwsSolutions-IAM5's wildcard resource."""

_RULE_OF = {
    **{rule_id: rule for rule, ids in SHARED_RULES.items() for rule_id in ids},
    **{rule_id: rule for rule, rule_id in PLATFORM_EQUIVALENTS.items()},
}


def concern_of(finding_id: str) -> str:
    """The concern a finding ID stands for: its cdk-nag rule function where packs share it, else the ID."""
    return _RULE_OF.get(finding_id, finding_id)


def equivalent_ids(finding_id: str) -> tuple[str, ...]:
    """Every ID the finding's concern has: each pack's and the project pack's for a shared rule, its checkov
    checks, or just `finding_id` (a bracketed finding such as `AwsSolutions-IAM5[Action::s3:*]`, a rule one
    pack has, a checkov check of its own)."""
    concern = concern_of(finding_id)
    ids = [
        *SHARED_RULES.get(concern, ()),
        *((PLATFORM_EQUIVALENTS[concern],) if concern in PLATFORM_EQUIVALENTS else ()),
    ]
    checks = [check for check, (_, of) in CHECKOV_CHECKS.items() if of == concern]
    return tuple(dict.fromkeys([finding_id, *ids, *checks]))
