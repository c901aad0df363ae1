"""Run the analyses on Apache Spark: one Ibis connection with the settings they need.

Every query over contacts, payments and complaints is an Ibis expression, so
the same code runs on DuckDB (the default, one machine) and on Spark (a
cluster, or ``local[*]`` for a test); only the small tables of sufficient
statistics (one row per cell) come back to Python. What Spark needs:

* PySpark and Java 17 or later on the driver (``pip install pyspark==4.0.5``;
  Debian's ``openjdk-17-jre-headless``);
* the session time zone UTC (:func:`connect` sets it): the data contract stores
  instants in UTC and local times come from ``accounts.time_zone``;
* the dataset as Parquet where the executors can read it: a local folder for
  ``local[*]``, or ``hdfs://...``, ``s3a://...`` (with the cluster's Hadoop
  settings) for a cluster.

Example::

    from analysis.data import io
    from analysis.engine import spark
    con = spark.connect("local[2]")            # or spark.connect(session=existing)
    ds = io.load("data/generated/cn_default", con=con)
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["connect", "SETTINGS", "SparkUnavailable"]

#: Session settings :func:`connect` applies (others come from the cluster's defaults).
SETTINGS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class SparkUnavailable(RuntimeError):
    """PySpark or Java is missing, or the session could not start; the message says which."""


def connect(
    master: str | None = None,
    *,
    session: Any = None,
    app_name: str = "channel-choice",
    config: dict[str, str] | None = None,
):
    """An Ibis PySpark backend with the analyses' settings.

    Args:
        master: a Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``); default
            ``local[*]``, or the ``--master`` of ``spark-submit``.
        session: an existing ``SparkSession`` to use instead (its time zone is set to UTC).
        app_name: the application name shown in the cluster's UI.
        config: further Spark settings, e.g. ``{"spark.executor.memory": "8g"}``.

    Raises:
        SparkUnavailable: PySpark is not installed, Java is missing, or the session failed to start.
    """
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs PySpark: pip install pyspark==4.0.5 "
            "(and Java 17 or later, e.g. Debian's openjdk-17-jre-headless)"
        ) from None
    if session is None:
        if not (os.environ.get("JAVA_HOME") or _on_path("java")):
            raise SparkUnavailable(
                "the Spark engine needs Java 17 or later on this machine "
                "(e.g. apt-get install openjdk-17-jre-headless), or JAVA_HOME set"
            )
        builder = SparkSession.builder.appName(app_name)
        if master:
            builder = builder.master(master)
        elif not os.environ.get("PYSPARK_SUBMIT_ARGS"):
            builder = builder.master("local[*]")
        for key, value in {**SETTINGS, **(config or {})}.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # py4j / Java start-up failures come in many types
            raise SparkUnavailable(f"the Spark session did not start: {str(exc).splitlines()[0][:300]}") from None
        session.sparkContext.setLogLevel("ERROR")
    else:
        for key, value in {"spark.sql.session.timeZone": "UTC", **(config or {})}.items():
            session.conf.set(key, value)
    return ibis.pyspark.connect(session)


def _on_path(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None
