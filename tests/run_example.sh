#!/bin/sh
# tests/run_example.sh EXE [EXPECTED]: run an example as a test. It passes
# when the example exits 0 and, if EXPECTED (examples/NAME.out) is given,
# prints exactly that.
set -u
exe=$1
if [ $# -lt 2 ]; then
  exec "$exe"
fi
out=$("$exe") || { echo "$exe exited $?"; exit 1; }
if [ "$out" != "$(cat "$2")" ]; then
  echo "$exe printed:"; echo "$out"
  echo "expected ($2):"; cat "$2"
  exit 1
fi
echo "$out"
