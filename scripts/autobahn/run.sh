#!/usr/bin/env bash
# Runs the Autobahn TestSuite's fuzzingclient (every case, 517) against
# examples/wsecho and checks the report: exit 1 when a case FAILED (with
# STRICT=1 also on NON-STRICT or UNIMPLEMENTED). See scripts/autobahn/README.md
# for getting wstest.
#
#   scripts/autobahn/run.sh                 # all cases
#   CASES='6.4.*' scripts/autobahn/run.sh   # some
#   CHAIN=general scripts/autobahn/run.sh   # wsecho -general-chain (the
#                                           # handler-by-handler chain)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
. scripts/autobahn/lib.sh
go build -o "$out/wsecho" ./examples/wsecho
port=$(free_port)
chain=()
[ "${CHAIN:-fused}" = general ] && chain=(-general-chain)
"$out/wsecho" -addr "127.0.0.1:$port" "${chain[@]}" 2>"$out/wsecho.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port" || { echo "autobahn: nothing listens on $port"; exit 1; }
cases=${CASES:-*}
cat > "$out/spec.json" <<JSON
{"outdir": "$out/reports", "servers": [{"agent": "gnetty", "url": "ws://127.0.0.1:$port"}],
 "cases": ["$cases"], "exclude-cases": [], "exclude-agent-cases": {}}
JSON
echo "autobahn: wstest $WSTEST, report in $out/reports"
(cd "$out" && $WSTEST -m fuzzingclient -s "$out/spec.json" > "$out/wstest.log" 2>&1) || { tail -20 "$out/wstest.log"; exit 1; }
strict=()
[ "${STRICT:-}" = 1 ] && strict=(-strict)
go run ./scripts/autobahn/check "${strict[@]}" "$out/reports/index.json"
