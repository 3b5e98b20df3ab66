#!/usr/bin/env bash
# Feed trail's rotating JSON segments to real consumers and check that every record
# arrives exactly once:
#   1. rsyslog imfile (inotify unless IMFILE_MODE=polling) tails DIR/loadgen.*.jsonl while loadgen writes and rotates;
#   2. DuckDB reads a compressed stream (.jsonl + .jsonl.gz) after the fact.
# Usage: [EVENTS= THREADS= ROTATE= IMFILE_MODE= LOADGEN= KEEP=1] scripts/check-tailers.sh
set -euo pipefail

EVENTS=${EVENTS:-200000}
THREADS=${THREADS:-4}
ROTATE=${ROTATE:-300000}
SETTLE=${SETTLE:-5}     # seconds without new output lines before rsyslog counts as caught up
TIMEOUT=${TIMEOUT:-300} # overall limit for the catch-up wait
IMFILE_MODE=${IMFILE_MODE:-inotify}  # or polling (checked once a second)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILT=$ROOT/target/release/examples/loadgen
LOADGEN=${LOADGEN:-$BUILT}
start_ts=$(date +%s)

# --- tools -------------------------------------------------------------------
if ! command -v rsyslogd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsyslog >/dev/null
fi
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb
# Build only when the binary is missing or older than the sources (LOADGEN overrides).
if [[ $LOADGEN == "$BUILT" ]] && { [[ ! -x $BUILT ]] ||
   [[ -n $(find "$ROOT/src" "$ROOT/macros" "$ROOT/examples" "$ROOT/Cargo.toml" -newer "$BUILT" | head -1) ]]; }; then
  (cd "$ROOT" && cargo build -q --release --example loadgen)
fi

# --- work dir, cleanup -------------------------------------------------------
WORK=$(mktemp -d /tmp/trail-tailers.XXXXXX)
RSPID=$WORK/rsyslogd.pid; RS=
cleanup() {
  if [[ -n $RS ]]; then kill "$RS" 2>/dev/null || true; wait "$RS" 2>/dev/null || true; fi
  if [[ -n ${KEEP:-} ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
DIR=$WORK/stream; DIR2=$WORK/stream-gz; OUT=$WORK/rsyslog-out.jsonl
mkdir -p "$DIR" "$DIR2" "$WORK/rsyslog"

# --- rsyslog: tail the segments, write each line back out unchanged -----------
cat >"$WORK/rsyslog.conf" <<EOF
global(workDirectory="$WORK/rsyslog" maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off")
module(load="imfile" mode="$IMFILE_MODE" pollingInterval="1")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="trail") {
  action(type="omfile" file="$OUT" template="raw")
}
input(type="imfile" File="$DIR/loadgen.*.jsonl" Tag="trail" freshStartTail="off"
      ruleset="trail")
EOF
rsyslogd -N1 -f "$WORK/rsyslog.conf" >"$WORK/rsyslog-check.log" 2>&1 \
  || { cat "$WORK/rsyslog-check.log"; exit 1; }
rsyslogd -n -f "$WORK/rsyslog.conf" -i "$RSPID" >"$WORK/rsyslogd.log" 2>&1 &
RS=$!
for _ in $(seq 50); do [[ -s $RSPID ]] && break; sleep 0.1; done
[[ -s $RSPID ]] || { echo "rsyslogd did not start"; cat "$WORK/rsyslogd.log"; exit 1; }
sleep 1

# --- run 1: plain segments, tailed live ---------------------------------------
"$LOADGEN" --dir "$DIR" --format json --events "$EVENTS" --threads "$THREADS" \
  --rotate-bytes "$ROTATE" --show 0 >"$WORK/run1.out"
STATS1=$(tail -n1 "$WORK/run1.out")
echo "loadgen run 1: $STATS1"

# Wait until the output has stopped growing for SETTLE seconds, then stop rsyslogd.
last=-1; still=0; waited=0
while (( waited < TIMEOUT )); do
  n=$(wc -l 2>/dev/null <"$OUT" || echo 0)
  if (( n == last )); then still=$((still + 1)); else still=0; last=$n; fi
  (( still >= SETTLE )) && break
  sleep 1; waited=$((waited + 1))
done
kill "$RS"; wait "$RS" || true; RS=
echo "rsyslog output stable after ${waited}s$( (( waited < TIMEOUT )) || echo ' (TIMED OUT)')"

# --- check 1 ------------------------------------------------------------------
set +e
python3 - "$OUT" "$DIR" "$EVENTS" "$STATS1" <<'PY'
import collections, glob, json, os, sys
out, d, n, stats = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
def seq(line):
    try: return json.loads(line)["seq"]
    except Exception: return None
# The segments themselves, in name order: whole lines, seq 1..n in order.
segs = sorted(glob.glob(os.path.join(d, "loadgen.*.jsonl")))
where, order, seg_lines, seg_bad = {}, [], collections.Counter(), []
for p in segs:
    off = 0
    for line in open(p, "rb"):
        s = seq(line)
        if s is None or not line.endswith(b"\n"):
            seg_bad.append(f"{os.path.basename(p)}@{off}: {line[:80]!r}")
        where.setdefault(s, []).append(f"{os.path.basename(p)}@{off}+{len(line)}")
        order.append(s); seg_lines[line] += 1; off += len(line)
# What rsyslog delivered.
seqs, bad, out_lines = collections.Counter(), [], collections.Counter()
for i, line in enumerate(open(out, "rb"), 1):
    out_lines[line] += 1
    s = seq(line)
    if s is None: bad.append(f"line {i}: {line[:80]!r}")
    else: seqs[s] += 1
lines = sum(out_lines.values())
missing = sorted(set(range(1, n + 1)) - set(seqs))
dups = sorted(s for s, c in seqs.items() if c > 1)
extra = sorted(s for s in seqs if not 1 <= s <= n)
altered = sum((out_lines - seg_lines).values())  # delivered lines not byte-identical to a segment line
seg_ok = order == list(range(1, n + 1)) and not seg_bad
print(f"rsyslog: lines={lines} distinct_seq={len(seqs)} missing={len(missing)} "
      f"duplicated={len(dups)} unparsable={len(bad)} out_of_range={len(extra)} altered={altered} "
      f"segments={len(segs)} rotations={stats['rotations']} written={stats['written']} "
      f"dropped={stats['dropped']} segments_in_order={seg_ok}")
for b in (seg_bad + bad)[:10]: print("  bad line", b)
for label, xs in (("missing", missing), ("duplicated", dups)):
    hit = collections.defaultdict(list)  # segment -> affected seqs
    for s in xs: hit[where.get(s, ["nowhere"])[0].split("@")[0]].append(s)
    for f, ss in list(hit.items())[:10]:
        print(f"  {label}: {len(ss)} records, seq {ss[0]}..{ss[-1]}, first at {where.get(ss[0])}")
    if hit: print(f"  {label}: {len(hit)} segments affected in all")
ok = seg_ok and not (bad or missing or dups or extra or altered) and lines == n == stats["written"]
sys.exit(0 if ok else 1)
PY
rc1=$?

# --- run 2 + check 2: compressed segments read by DuckDB ------------------------
"$LOADGEN" --dir "$DIR2" --format json --events "$EVENTS" --threads "$THREADS" \
  --rotate-bytes "$ROTATE" --compress --show 0 >"$WORK/run2.out"
STATS2=$(tail -n1 "$WORK/run2.out")
echo "loadgen run 2: $STATS2"
python3 - "$DIR2" "$EVENTS" <<'PY'
import os, sys, duckdb
d, n = sys.argv[1], int(sys.argv[2])
files = sorted(os.listdir(d))  # dot files too: .SEGMENT.gz.tmp is a compression in progress
gz = sum(f.endswith(".jsonl.gz") for f in files)
plain = sum(f.endswith(".jsonl") for f in files)
tmp = [f for f in files if f.endswith(".tmp")]  # must be gone after shutdown
src = f"read_json_auto('{d}/loadgen.*.jsonl*')"
db = duckdb.connect()
cnt, distinct, lo, hi = db.execute(
    f"select count(*), count(distinct seq), min(seq), max(seq) from {src}").fetchone()
print(f"duckdb: files gz={gz} plain={plain} tmp={len(tmp)} rows={cnt} distinct_seq={distinct} "
      f"min={lo} max={hi}")
levels = db.execute(f"select level, count(*) from {src} group by level order by level").fetchall()
print("duckdb levels: " + " ".join(f"{l}={c}" for l, c in levels))
sys.exit(0 if (cnt == n and distinct == n and lo == 1 and hi == n and not tmp) else 1)
PY
rc2=$?
set -e

secs=$(( $(date +%s) - start_ts ))
r1=$([[ $rc1 == 0 ]] && echo ok || echo FAIL); r2=$([[ $rc2 == 0 ]] && echo ok || echo FAIL)
echo "SUMMARY: rsyslog-imfile($IMFILE_MODE)=$r1 duckdb-gz=$r2 events=$EVENTS threads=$THREADS rotate=$ROTATE time=${secs}s"
[[ $rc1 == 0 && $rc2 == 0 ]]
