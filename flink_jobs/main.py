"""Managed Service for Apache Flink entry point (kinesis.analytics.flink.run.options names it): reads the
application properties Managed Flink writes, registers the schema check as a table function and runs the
aggregation of aggregates.py. PyFlink is the runtime's; nothing here runs at import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aggregates

APPLICATION_PROPERTIES = Path("/etc/flink/application_properties.json")


def main() -> None:
    from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
    from pyflink.table.udf import udtf

    job = aggregates.settings(json.loads(APPLICATION_PROPERTIES.read_text()))
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())

    @udtf(result_types=[DataTypes.STRING(), DataTypes.STRING()])
    def event_key(raw: str) -> Iterator[tuple[str, str]]:
        if (key := aggregates.event_key(raw)) is not None:
            yield key

    env.create_temporary_function("event_key", event_key)
    env.execute_sql(aggregates.source_ddl(job))
    env.execute_sql(aggregates.sink_ddl(job))
    env.execute_sql(aggregates.aggregate_sql(job))


if __name__ == "__main__":
    main()
