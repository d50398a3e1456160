"""Four CloudWatch dashboards (infrastructure, data, analytics, GPU/ML) over the alarms' metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

WIDGETS_PER_ROW = 3
"""Widgets are 8 of the dashboard's 24 columns wide."""


class PlatformDashboards(Construct):
    """`dashboards` by name; each row is a titled graph of the named alarms' metrics."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        alarms: Mapping[str, cloudwatch.Alarm],
        extra_metrics: Mapping[str, Sequence[cloudwatch.IMetric]],
    ) -> None:
        super().__init__(scope, construct_id)
        layout = {
            "infrastructure": ("Api5xxRate", "NodeCpu", "PodRestarts", "RequestRateAnomaly", "LatencyAnomaly"),
            "data": ("DatabaseCpu", "DatabaseCapacity", "DatabaseStorage", "CacheCpu", "CacheMemory", "CacheEvictions"),
            "analytics": ("StreamIteratorAge", "KafkaDisk", "SearchRed", "SearchYellow", "SearchStorage"),
            "gpu-ml": (),
        }
        self.dashboards: dict[str, cloudwatch.Dashboard] = {}
        for name, alarm_names in layout.items():
            widgets: list[cloudwatch.IWidget] = [
                cloudwatch.AlarmWidget(alarm=alarms[alarm], title=alarm, width=8)
                for alarm in alarm_names
                if alarm in alarms and isinstance(alarms[alarm], cloudwatch.Alarm)
            ]
            widgets += [
                cloudwatch.GraphWidget(title=title, left=[metric], width=8)
                for title, metrics in extra_metrics.items()
                if title.startswith(f"{name}:")
                for metric in metrics
            ]
            rows = [widgets[start : start + WIDGETS_PER_ROW] for start in range(0, len(widgets), WIDGETS_PER_ROW)]
            self.dashboards[name] = cloudwatch.Dashboard(
                self,
                "".join(part.capitalize() for part in name.split("-")),
                dashboard_name=f"{name_prefix}-{name}",
                widgets=rows,
            )
