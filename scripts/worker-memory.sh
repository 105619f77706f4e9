#!/usr/bin/env bash
# Measures the compiled service's RSS per number of inference workers (figures: docs/deploy.md "Memory per instance").
# Usage: npm run build && scripts/worker-memory.sh <workers> <port>
# RSS of the compiled service with N inference workers: after /readyz turns 200 (models loaded, warmed), and after 6 searches.
set -euo pipefail
cd "$(dirname "$0")/.."
N=$1; PORT=$2
D=$(mktemp -d)
ADMIN=rss-measure-admin-key-000000000001
FACE_WORKERS=$N PORT=$PORT HOST=127.0.0.1 DATA_DIR=$D LOG_LEVEL=info FACEMATCH_BOOTSTRAP_ADMIN_KEY=$ADMIN node dist/src/main.js > $D/log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf $D' EXIT
for i in $(seq 1 300); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 1; done
rss() { awk '/VmRSS|VmHWM/{printf "%s %d MB  ", $1, $2/1024}' /proc/$PID/status; echo; }
echo "workers=$N ready after ${i}s: $(rss)"
KEY=$(curl -s -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"roles":["searcher"],"organization":"b"}' http://127.0.0.1:$PORT/v1/keys | jq -r .key)
P=()
for s in 1 2 3 4 5 6; do
  curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $KEY" -F image=@node_modules/@vladmandic/face-api/demo/sample$s.jpg -F purpose=p -F caseRef=c http://127.0.0.1:$PORT/v1/searches &
  P+=($!)
done
wait "${P[@]}"; echo
grep -o '"backend":"[a-z-]*"' $D/log | head -1
echo "workers=$N after 6 concurrent searches: $(rss)"
