# bench/servers.sh — sourced by bench/run (and tests/bench_servers.sh):
# start the peers' servers in the background, and stop every one of them
# when the script exits, however it exits. Needs $tmp, a scratch directory
# that the trap removes too.

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME SOCKET CMD...: run CMD in the background and wait (bounded)
# for its socket. Its pid goes into pids, for the trap, and into $started.
# Call it directly, never in a command substitution: the substitution's
# subshell would lose the pids+= and leave the server running.
started=
start() {
  local name=$1 sock=$2; shift 2
  "$@" >"$tmp/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  started=$pid
  for _ in $(seq 1 500); do
    [ -S "$sock" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  echo "!! $name did not start: $(tail -3 "$tmp/$name.log")" >&2
  return 1
}
