#!/usr/bin/env bash
# The servers bench/run starts are stopped when it ends: start a real
# objmgrd the way bench/run does (bench/servers.sh), end the script, and
# check that the server is gone and its socket directory removed.
set -u
cd "$(dirname "$0")/.."
server=${OBJMGR_SERVER:?the objmgrd to start}
out=$(mktemp)
bash -c '
  tmp=$(mktemp -d /tmp/objmgr-bench-test.XXXXXX)
  . bench/servers.sh
  start objmgrd "$tmp/o.sock" "$1" --socket "$tmp/o.sock" --log-level error || exit 1
  echo "$started $tmp"
' _ "$server" >"$out" || { echo "FAIL: the server did not start"; exit 1; }
read -r pid dir <"$out"
rm -f "$out"
for _ in $(seq 1 500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  echo "FAIL: objmgrd $pid is still running after the bench script ended"
  exit 1
fi
[ ! -e "$dir" ] || { echo "FAIL: $dir was left behind"; exit 1; }
echo "ok: objmgrd $pid stopped, $dir removed"
