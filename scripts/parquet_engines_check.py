"""DuckDB, pyarrow and polars each read a Parquet file that `trail convert --to parquet`
made from loadgen's stream: every row, `ts` a nanosecond UTC timestamp, the fields typed,
and the same sums as loadgen's formula gives. Prints one JSON line; exits 1 on a mismatch.

Usage: python parquet_engines_check.py FILE.parquet EVENTS THREADS
"""

import json
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

path, events, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per_thread = events // threads
# loadgen: quantity = i % 7 + 1 for i in 0..per_thread, on every thread.
want_quantity = threads * sum(i % 7 + 1 for i in range(per_thread))
problems = []


def check(engine, cond, what):
    if not cond:
        problems.append(f"{engine}: {what}")


# pyarrow
table = pq.read_table(path)
check("pyarrow", table.num_rows == events, f"{table.num_rows} rows")
check("pyarrow", table.schema.field("ts").type == pa.timestamp("ns", tz="UTC"), str(table.schema.field("ts").type))
check("pyarrow", table.schema.field("seq").type == pa.uint64(), "seq type")
fields = table.schema.field("fields").type
want = {"order_id": pa.int64(), "price": pa.float64(), "quantity": pa.int64(), "sku": pa.string()}
for name, t in want.items():
    check("pyarrow", fields.field(name).type == t, f"fields.{name} is {fields.field(name).type}")
seqs = table.column("seq")
check("pyarrow", len(set(seqs.to_pylist())) == events, "distinct seq")
quantity = pa.compute.sum(table.column("fields").combine_chunks().field("quantity")).as_py()
check("pyarrow", quantity == want_quantity, f"sum(quantity) {quantity} != {want_quantity}")

# DuckDB
con = duckdb.connect()
types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
check("duckdb", types["ts"] in ("TIMESTAMPTZ_NS", "TIMESTAMP_NS WITH TIME ZONE"), f"ts is {types['ts']}")
check("duckdb", types["fields"] == "STRUCT(order_id BIGINT, price DOUBLE, quantity BIGINT, sku VARCHAR)", types["fields"])
rows, distinct, q, ns = con.execute(
    f"SELECT count(*), count(DISTINCT seq), sum(fields.quantity), "
    f"count(*) FILTER (WHERE epoch_ns(ts) % 1000 <> 0) FROM read_parquet('{path}')").fetchone()
check("duckdb", rows == events and distinct == events, f"{rows} rows, {distinct} distinct seq")
check("duckdb", q == want_quantity, f"sum(quantity) {q}")
check("duckdb", ns > 0, "no timestamp has nanoseconds below the microsecond")

# polars
df = pl.read_parquet(path)
check("polars", df.height == events, f"{df.height} rows")
check("polars", df.schema["ts"] == pl.Datetime("ns", "UTC"), str(df.schema["ts"]))
check("polars", df.schema["fields"] == pl.Struct({"order_id": pl.Int64, "price": pl.Float64, "quantity": pl.Int64, "sku": pl.String}), str(df.schema["fields"]))
check("polars", df["seq"].n_unique() == events, "distinct seq")
q = df.select(pl.col("fields").struct.field("quantity").sum()).item()
check("polars", q == want_quantity, f"sum(quantity) {q}")

print(json.dumps({"file": path, "rows": events, "engines": ["duckdb", "pyarrow", "polars"], "problems": problems}))
sys.exit(1 if problems else 0)
