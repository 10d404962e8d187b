#!/usr/bin/env bash
# Runs the Autobahn TestSuite's fuzzingserver (every case: 517) against
# gnetty's client (examples/wsclient -autobahn, which is websocket.Dial)
# and checks the report as run.sh does: exit 1 when a case FAILED (with
# STRICT=1 also on NON-STRICT or UNIMPLEMENTED). See README.md here for
# getting wstest (install.sh).
#
#   scripts/autobahn/client.sh                 # all cases
#   CASES='6.4.*' scripts/autobahn/client.sh   # some
#
# The whole suite takes wstest (Python 2.7) about 40 minutes here, most
# of it compressing in the 12.x and 13.x cases: run halves side by side,
#   CASES='1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,12.*' OUT=/tmp/ab1 scripts/autobahn/client.sh &
#   CASES='13.*' OUT=/tmp/ab2 scripts/autobahn/client.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
. scripts/autobahn/lib.sh
go build -o "$out/wsclient" ./examples/wsclient
port=$(free_port)
# CASES: one pattern or several, comma-separated ('1.*,2.*').
cases=$(printf '%s' "${CASES:-*}" | sed 's/[^,][^,]*/"&"/g')
cat > "$out/spec.json" <<JSON
{"url": "ws://127.0.0.1:$port", "outdir": "$out/reports",
 "cases": [$cases], "exclude-cases": [], "exclude-agent-cases": {}}
JSON
echo "autobahn: wstest $WSTEST (fuzzingserver on port $port), report in $out/reports"
(cd "$out" && exec $WSTEST -m fuzzingserver --webport 0 -s "$out/spec.json" > "$out/wstest.log" 2>&1) &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port" || { tail -20 "$out/wstest.log"; exit 1; }
"$out/wsclient" -autobahn "ws://127.0.0.1:$port" -agent gnetty > "$out/wsclient.log" 2>&1 || { tail -20 "$out/wsclient.log"; exit 1; }
strict=()
[ "${STRICT:-}" = 1 ] && strict=(-strict)
go run ./scripts/autobahn/check "${strict[@]}" "$out/reports/index.json"
