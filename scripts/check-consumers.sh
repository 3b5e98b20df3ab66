#!/usr/bin/env bash
# Real consumers read trail's files as written: Python's json and csv modules, and DuckDB's
# read_json_auto and read_csv, on JSON lines and CSV streams made by loadgen (with rotation
# and gzip). Every record must come back once, with its columns and types.
# Usage: [EVENTS=] scripts/check-consumers.sh
set -euo pipefail
EVENTS=${EVENTS:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb
(cd "$ROOT" && cargo build -q --release --example loadgen)
WORK=$(mktemp -d /tmp/trail-consumers.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for format in json csv; do
  "$ROOT/target/release/examples/loadgen" --dir "$WORK/$format" --format "$format" \
    --events "$EVENTS" --threads 2 --rotate-bytes 2000000 --compress --show 0 | tail -1
done
python3 - "$WORK" "$EVENTS" <<'PY'
import csv, glob, gzip, io, json, sys
import duckdb
work, n = sys.argv[1], int(sys.argv[2])
ok = True
def check(name, seqs):
    global ok
    good = sorted(seqs) == list(range(1, n + 1))
    ok &= good
    print(f"{name}: rows={len(seqs)} distinct={len(set(seqs))} {'ok' if good else 'FAILED'}")

def opened(path):
    return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="") if path.endswith(".gz") \
        else open(path, encoding="utf-8", newline="")

seqs, types = [], set()
for path in sorted(glob.glob(f"{work}/json/loadgen.*.jsonl*")):
    for line in opened(path):
        r = json.loads(line)
        seqs.append(r["seq"])
        types.add((type(r["actor"]).__name__, type(r["fields"]["price"]).__name__, type(r["fields"]["sku"]).__name__))
check("python json", seqs)
print("  json types (actor, price, sku):", sorted(types))

seqs, headers = [], set()
for path in sorted(glob.glob(f"{work}/csv/loadgen.*.csv*")):
    rows = csv.DictReader(opened(path))
    headers.add(tuple(rows.fieldnames))
    for row in rows:
        seqs.append(int(row["seq"]))
        fields = json.loads(row["fields"])
        assert isinstance(fields["quantity"], int) and isinstance(fields["price"], float), row
check("python csv", seqs)
print("  csv headers:", headers)

con = duckdb.connect()
rows = con.execute(f"select seq from read_json_auto('{work}/json/loadgen.*.jsonl*')").fetchall()
check("duckdb read_json_auto", [r[0] for r in rows])
print("  duckdb json column types:", con.execute(
    f"select typeof(seq), typeof(ts), typeof(actor), typeof(fields) from read_json_auto('{work}/json/loadgen.*.jsonl*') limit 1").fetchone())
rows = con.execute(f"select seq from read_csv('{work}/csv/loadgen.*.csv*', header=true)").fetchall()
check("duckdb read_csv", [r[0] for r in rows])
print("  duckdb csv by level:", con.execute(
    f"select level, count(*) from read_csv('{work}/csv/loadgen.*.csv*', header=true) group by level order by level").fetchall())
sys.exit(0 if ok else 1)
PY
echo "consumers: all ok"
