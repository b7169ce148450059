#!/usr/bin/env bash
# fake_trainer.sh: stands in for `loco-train train` in the launcher tests (no LibTorch needed). It
# accepts the options `loco swarm` passes, writes the contract's metrics lines for --steps steps,
# and with --fake-mode misbehaves: fail2 (bad option: message, exit 2), crash (exit 1 midway),
# hang (writes a start line, then sleeps), partial (leaves an unterminated last line). With
# --check it answers as `loco-train train --check` does: "options ok", or, for --bogus-option, the
# trainer's parse error and exit 2.
set -u
metrics="" name="peer" steps=10 strategy="diloco" mode="ok" world=1 check=0 bogus=0
while [ $# -gt 0 ]; do
  case "$1" in
    train) shift ;;
    --metrics) metrics="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --strategy) strategy="$2"; shift 2 ;;
    --world) world="$2"; shift 2 ;;
    --fake-mode) mode="$2"; shift 2 ;;
    --check) check=1; shift ;;
    --bogus-option) bogus=1; shift 2 ;;
    --*) shift; [ $# -gt 0 ] && [ "${1#--}" = "$1" ] && shift ;;
    *) shift ;;
  esac
done
if [ "$check" = 1 ]; then
  if [ "$bogus" = 1 ]; then
    echo "The following argument was not expected: --bogus-option" >&2
    echo "Run with --help for more information." >&2
    exit 2
  fi
  echo "loco-train: options ok"
  exit 0
fi
rank="${name#peer-}"
if [ "$mode" = "fail2" ]; then
  echo "loco-train: --fake-mode fail2: unknown option --bogus (see loco-train train --help)" >&2
  exit 2
fi
common() { printf '"t":%s,"rank":%s,"world":%s,"strategy":"%s","step":%s' "$1" "$rank" "$world" "$strategy" "$2"; }
echo "{\"event\":\"start\",$(common 0.01 0),\"params\":1000,\"model\":\"fake\",\"steps\":$steps}" >> "$metrics"
if [ "$mode" = "hang" ]; then
  trap 'exit 0' TERM
  while true; do sleep 0.1; done
fi
bytes=0
for ((s = 1; s <= steps; s++)); do
  bytes=$((bytes + 1000 * (rank + 1)))
  loss=$(awk -v s="$s" 'BEGIN { printf "%.4f", 3.0 / (1 + 0.1 * s) }')
  t=$(awk -v s="$s" 'BEGIN { printf "%.2f", 0.05 * s }')
  echo "{\"event\":\"step\",$(common "$t" "$s"),\"loss\":$loss,\"lr\":0.001,\"tokens\":$((s * 1024)),\"bytes_sent\":$bytes,\"bytes_received\":$bytes,\"compute_s\":0.1,\"comm_s\":0.01}" >> "$metrics"
  echo "{\"event\":\"eval\",$(common "$t" "$s"),\"val_loss\":$loss,\"bytes_sent\":$bytes,\"tokens\":$((s * 1024))}" >> "$metrics"
  if [ "$mode" = "crash" ] && [ "$s" -ge 2 ]; then
    echo "loco-train: fatal: simulated crash at step $s" >&2
    exit 1
  fi
  sleep 0.05
done
echo "{\"event\":\"done\",$(common 1.0 "$steps"),\"val_loss\":$loss,\"bytes_sent\":$bytes,\"bytes_received\":$bytes,\"tokens\":$((steps * 1024)),\"wall_s\":1.0}" >> "$metrics"
if [ "$mode" = "partial" ]; then printf '{"event":"step","t":2' >> "$metrics"; fi
exit 0
