"""Export relations of a `dbt --target spark` build to Parquet (run in a subprocess by the tests).

Usage: ``python tests/python/_spark_export.py SPARK_DIR OUT_DIR schema.relation ...``

Opens a SparkSession on the warehouse and the embedded Derby metastore the ``spark`` target of
``profiles/profiles.yml`` writes under ``SPARK_DIR`` (the build must have finished: Derby admits
one process at a time) and writes each relation, views included, to ``OUT_DIR/<relation>/`` as
Parquet, so the test can read it with DuckDB and compare it with the DuckDB catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    spark_dir, out_dir, *relations = argv
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("codeintel-spark-export")
        .config("spark.sql.warehouse.dir", f"{spark_dir}/warehouse")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=false",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={spark_dir}")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for relation in relations:
            target = Path(out_dir) / relation.split(".")[-1]
            spark.table(relation).coalesce(1).write.mode("overwrite").parquet(str(target))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
