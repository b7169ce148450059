#!/usr/bin/env bash
# run_swarm.sh: runs an example as a real swarm, as CTest does: `loco coordinator` on port 0 (its
# port read from a port file) and WORLD copies of the example, each as its own process. Passes when
# every copy exits 0 and all print the same last line (the same result checksum, since every peer
# ends with bit-identical bytes); with MAX_LOSS, that line's "eval loss X" must also be below it.
# Usage: run_swarm.sh LOCO EXAMPLE WORLD [MAX_LOSS] [EXAMPLE ARGS...]
set -u
loco="$1" example="$2" world="$3" max_loss="${4:-}"
shift 4 2>/dev/null || shift $#
dir="$(mktemp -d)"
"$loco" coordinator --listen 127.0.0.1:0 --port-file "$dir/port" --heartbeat-ms 100 \
  --heartbeat-timeout-ms 2000 >"$dir/coordinator.log" 2>&1 &
coord=$!
trap 'kill $coord 2>/dev/null; wait $coord 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [[ -s "$dir/port" ]] && break; sleep 0.1; done
port="$(cat "$dir/port")" || { echo "no port file"; cat "$dir/coordinator.log"; exit 1; }
pids=()
for r in $(seq "$world"); do
  timeout 120 "$example" 127.0.0.1 "$port" "$world" "$@" >"$dir/peer$r.out" 2>"$dir/peer$r.err" &
  pids+=($!)
done
status=0
for r in $(seq "$world"); do
  wait "${pids[$((r - 1))]}" || { echo "peer $r exited with $?"; status=1; }
  echo "--- peer $r:"; cat "$dir/peer$r.out"; cat "$dir/peer$r.err" >&2
done
[[ "$status" == 0 ]] || exit 1
finals="$(for r in $(seq "$world"); do tail -n 1 "$dir/peer$r.out"; done | sort -u)"
if [[ "$(echo "$finals" | wc -l)" != 1 ]]; then
  echo "FAIL: the peers' last lines differ:"; echo "$finals"; exit 1
fi
if [[ -n "$max_loss" ]]; then
  loss="$(echo "$finals" | sed -n 's/.*eval loss \([0-9.e+-]*\).*/\1/p')"
  awk -v l="$loss" -v m="$max_loss" 'BEGIN { exit !(l != "" && l < m) }' ||
    { echo "FAIL: eval loss '$loss' is not below $max_loss"; exit 1; }
fi
echo "PASS: $world peers agree: $finals"
