#!/usr/bin/env bash
# make demo: the main job of tracelite, end to end, in the sqlite3 shell.
# Generates realistic traces, stores them in every format, imports real
# trace files, prints the comparison table (with zstd -19 of the same NDJSON,
# what a user would otherwise do) and runs example queries.
# DEMO_TRACES sets the number of generated traces (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TRACES_DIR=${TL_TRACES:-$(cd .. && pwd)/shared/traces}
N=${DEMO_TRACES:-2000}
OUT=$(mktemp -d /tmp/tracelite-demo.XXXXXX)
DB="$OUT/demo.db"
SQL() { sqlite3 -batch -bail "$DB" -cmd ".load $BUILD/tracelite" "$@"; }
section() { printf '\n=== %s\n\n' "$1"; }

section "tracelite $(SQL 'SELECT tracelite_version()') — database $DB"

section "Generate $N traces of the built-in online shop (trace_generate($N, 42)) and store them in every format"
FORMATS="ndjson cbor cbor_zstd relational columnar"
for f in $FORMATS; do
  SQL "CREATE VIRTUAL TABLE gen_$f USING tracelite(format=$f)"
  start=$(date +%s.%N)
  SQL "INSERT INTO gen_$f SELECT * FROM trace_generate($N, 42)"
  printf '  %-10s %8.2f s\n' "$f" "$(echo "$(date +%s.%N) - $start" | bc)"
done

section "Import real traces: Nezha TrainTicket (CSV) and every Zipkin file"
SQL "CREATE VIRTUAL TABLE real_cbor_zstd USING tracelite(format=cbor_zstd)"
for f in "$TRACES_DIR"/nezha/construct_data/2023-01-2*/*.csv "$TRACES_DIR"/nezha/construct_data/2023-01-30/*.csv "$TRACES_DIR"/zipkin/*.json; do
  n=$(SQL "INSERT INTO real_cbor_zstd SELECT * FROM trace_file('$f'); SELECT changes()")
  printf '  %6d spans  %s\n' "$n" "${f#$TRACES_DIR/}"
done

section "Compression: the whole database file per format vs the NDJSON baseline and zstd -19 of it"
SQL "SELECT trace_export('gen_ndjson', '$OUT/gen.ndjson')" >/dev/null
zstd -q -19 -T0 "$OUT/gen.ndjson" -o "$OUT/gen.ndjson.zst"
ZSTD_BYTES=$(stat -c %s "$OUT/gen.ndjson.zst")
NDJSON_BYTES=$(stat -c %s "$OUT/gen.ndjson")
SPANS=$(SQL "SELECT count(*) FROM gen_columnar")
for f in $FORMATS; do
  sqlite3 "$OUT/only_$f.db" -cmd ".load $BUILD/tracelite" \
    "CREATE VIRTUAL TABLE spans USING tracelite(format=$f); INSERT INTO spans SELECT * FROM trace_generate($N, 42)"
  sqlite3 "$OUT/only_$f.db" "VACUUM"
done
printf '%-22s %14s %12s %12s %14s\n' "format" "bytes" "bytes/span" "vs NDJSON" "vs zstd -19"
printf '%-22s %14d %12.1f %12.1fx %14s\n' "NDJSON file" "$NDJSON_BYTES" "$(echo "$NDJSON_BYTES / $SPANS" | bc -l)" 1 "-"
printf '%-22s %14d %12.1f %12.1fx %13.2fx\n' "zstd -19 of NDJSON" "$ZSTD_BYTES" "$(echo "$ZSTD_BYTES / $SPANS" | bc -l)" \
  "$(echo "$NDJSON_BYTES / $ZSTD_BYTES" | bc -l)" 1
for f in $FORMATS; do
  b=$(stat -c %s "$OUT/only_$f.db")
  printf '%-22s %14d %12.1f %12.1fx %13.2fx\n' "tracelite $f" "$b" "$(echo "$b / $SPANS" | bc -l)" \
    "$(echo "$NDJSON_BYTES / $b" | bc -l)" "$(echo "$b / $ZSTD_BYTES" | bc -l)"
done
echo "(database files after VACUUM, every shadow table and index counted; vs zstd -19 is database bytes / zstd bytes: below 1 is smaller)"

section "tracelite_stats"
SQL -box "SELECT name, format, blocks, spans, traces, bytes, ndjson_bytes, round(ratio, 1) AS ratio FROM tracelite_stats"

section "Example queries"
run() { echo "sqlite> $1"; SQL -box "$1"; echo; }
run "SELECT service, count(*) AS spans, sum(status_code = 'ERROR') AS errors,
       round(100.0 * sum(status_code = 'ERROR') / count(*), 2) AS error_pct
  FROM gen_columnar GROUP BY service ORDER BY errors DESC LIMIT 8"
run "SELECT trace_id, service, name, duration_ns / 1000000 AS ms
  FROM gen_columnar WHERE parent_span_id IS NULL ORDER BY duration_ns DESC LIMIT 5"
TID=$(SQL "SELECT trace_id FROM gen_columnar WHERE parent_span_id IS NULL ORDER BY duration_ns DESC LIMIT 1")
run "SELECT service, name, kind, (start_ns - (SELECT min(start_ns) FROM gen_columnar WHERE trace_id = '$TID')) / 1000000 AS start_ms,
       duration_ns / 1000000 AS ms, status_code
  FROM gen_columnar WHERE trace_id = '$TID' ORDER BY start_ns LIMIT 12"
run "SELECT service, count(*) AS calls, round(latency_percentile(duration_ns, 0.5) / 1e6, 2) AS p50_ms,
       round(latency_percentile(duration_ns, 0.99) / 1e6, 2) AS p99_ms
  FROM real_cbor_zstd WHERE service LIKE 'ts-%' AND parent_span_id IS NOT NULL
 GROUP BY service ORDER BY p99_ms DESC LIMIT 6"
run "SELECT service, name, count(*) AS sections, round(sum(end_ns - start_ns) / 1e6, 2) AS ms_on_critical_path
  FROM trace_critical_path('gen_columnar', '$TID') GROUP BY service, name ORDER BY 4 DESC LIMIT 8"
echo "sqlite> SELECT trace_waterfall('gen_columnar', '$TID', 100)"
SQL "SELECT trace_waterfall('gen_columnar', '$TID', 100)" | head -30
echo
run "SELECT caller, callee, calls, errors, round(p50_ns / 1e6, 2) AS p50_ms, round(p99_ns / 1e6, 2) AS p99_ms
  FROM trace_topology('gen_columnar') ORDER BY calls DESC LIMIT 10"
run "SELECT service, sketch_count(s) AS spans, round(sketch_quantile(s, 0.99) / 1e6, 2) AS p99_ms_sketch, length(s) AS sketch_bytes
  FROM (SELECT service, latency_sketch(duration_ns) AS s FROM gen_columnar GROUP BY service) ORDER BY spans DESC LIMIT 5"
run "SELECT attributes ->> '$.\"exception.type\"' AS exception, count(*)
  FROM (SELECT json_each.value ->> '$.attributes' AS attributes
          FROM gen_columnar, json_each(gen_columnar.events) WHERE events IS NOT NULL)
 WHERE exception IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
run "SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces FROM gen_columnar
  WHERE start_ns BETWEEN (SELECT min(start_ns) FROM gen_columnar) AND (SELECT min(start_ns) + 1000000000 FROM gen_columnar)"

section "Round trip: the export of every format equals the export of the generator"
for f in $FORMATS; do
  SQL "SELECT trace_export('gen_$f', '$OUT/$f.ndjson')" >/dev/null
  if cmp -s "$OUT/$f.ndjson" "$OUT/gen.ndjson"; then echo "  $f: identical"; else echo "  $f: DIFFERS"; exit 1; fi
done
echo
echo "Files are in $OUT (remove with: rm -r $OUT)"
