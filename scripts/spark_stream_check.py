"""Spark Structured Streaming over a live trail stream directory.

Runs loadgen (writing at a steady rate, rotating small segments) while a Spark
file-source query reads the directory every half second, then lets the query take what
is left once loadgen has finished. Prints one JSON line: the rows Spark read, the distinct
seqs, and whether each seq 1..N arrived exactly once.

    python scripts/spark_stream_check.py --loadgen PATH --trail PATH [--hide-active] \
        [--events 500000] [--rate 100000] [--rotate-bytes 262144]

Without --hide-active, the active segment is visible to Spark while it grows: a file the
file source has listed is never read again, so records appended after the listing are lost.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--trail", required=True)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--rotate-bytes", type=int, default=256 * 1024)
    ap.add_argument("--hide-active", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    from pyspark.sql import SparkSession

    work = tempfile.mkdtemp(prefix="trail-spark-")
    stream = os.path.join(work, "stream")
    os.makedirs(stream)
    # The declared schema, from a small stream of the same program: nothing is inferred.
    sample = os.path.join(work, "sample")
    subprocess.run([args.loadgen, "--dir", sample, "--events", "1000", "--threads", "1",
                    "--show", "0"], check=True, stdout=subprocess.DEVNULL)
    ddl = subprocess.run([args.trail, "schema", sample, "--output", "spark"], check=True,
                         capture_output=True, text=True).stdout.strip()

    spark = (SparkSession.builder.master("local[2]").appName("trail-stream-check")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    out = os.path.join(work, "out")
    query = (spark.readStream.schema(ddl)
             # Only plain JSON-lines segments: a compressed copy of a segment is the same records.
             .option("pathGlobFilter", "*.jsonl")
             .json(stream)
             .select("seq")
             .writeStream.format("parquet")
             .option("path", out)
             .option("checkpointLocation", os.path.join(work, "checkpoint"))
             .trigger(processingTime="500 milliseconds")
             .start())

    command = [args.loadgen, "--dir", stream, "--events", str(args.events), "--threads", "2",
               "--rate", str(args.rate), "--rotate-bytes", str(args.rotate_bytes),
               "--show", "0"]
    if args.hide_active:
        command.append("--hide-active")
    started = time.time()
    loadgen = subprocess.run(command, check=True, capture_output=True, text=True)
    figures = json.loads(loadgen.stdout.strip().splitlines()[-1])
    # loadgen has sealed its last segment: one more pass takes what is left.
    query.processAllAvailable()
    query.stop()
    seqs = [r.seq for r in spark.read.parquet(out).select("seq").collect()]
    spark.stop()
    distinct = len(set(seqs))
    expected = set(range(1, args.events + 1))
    result = {
        "hide_active": args.hide_active,
        "events": args.events,
        "written": figures["written"],
        "rows": len(seqs),
        "distinct_seqs": distinct,
        "missing": len(expected - set(seqs)),
        "exactly_once": len(seqs) == args.events and set(seqs) == expected,
        "seconds": round(time.time() - started, 1),
        "work_dir": work if args.keep else None,
    }
    print(json.dumps(result))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if result["exactly_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
