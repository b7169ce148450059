#!/usr/bin/env bash
# cli_errors_test.sh: the `loco` command's answers to a newcomer's mistakes, run as a real binary:
# a coordinator that cannot listen (busy port, bad address, port below 1024 as non-root) exits
# with a message naming the address instead of crashing; an unknown log level is rejected with
# the list of levels; a directory as --secret-file says so; --help shows true defaults, hides the
# internal commands, and `loco help` / an unknown command list the subcommands.
# Not here: the C API's listen failures (tests/capi/listen_errors_test.c). Usage: $0 LOCO_BINARY
set -u
loco="$1"
tmp="$(mktemp -d)"
coord_pid=""
cleanup() {
  if [[ -n "$coord_pid" ]]; then kill "$coord_pid" 2>/dev/null; wait "$coord_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run NAME WANT_RC CMD...: runs CMD with stdout+stderr in $tmp/NAME.out; checks the exit code.
run() {
  local name="$1" want="$2"
  shift 2
  timeout 20 "$@" >"$tmp/$name.out" 2>&1
  local rc=$?
  if [[ "$rc" != "$want" ]]; then
    fail "$name: exit code $rc, want $want; output:"
    cat "$tmp/$name.out" >&2
  fi
}
has() { grep -q -- "$2" "$tmp/$1.out" || fail "$1: output lacks '$2'"; }
lacks() { if grep -q -- "$2" "$tmp/$1.out"; then fail "$1: output has '$2'"; fi; }

# ---- a coordinator that cannot listen ----
"$loco" coordinator --listen 127.0.0.1:0 --port-file "$tmp/port" >"$tmp/first.log" 2>&1 &
coord_pid=$!
for _ in $(seq 100); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port="$(cat "$tmp/port" 2>/dev/null)"
if [[ -z "$port" ]]; then
  fail "the first coordinator wrote no port file"
else
  run busy 1 "$loco" coordinator --listen "127.0.0.1:$port"
  has busy "127.0.0.1:$port"
  has busy "address in use"
fi
run bad_address 2 "$loco" coordinator --listen 999.1.1.1:7000
has bad_address "999.1.1.1:7000"

if [[ "$(id -u)" == 0 && "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 1 ]] &&
   setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$loco"; then
  run low_port 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$loco" coordinator --listen 127.0.0.1:1
  has low_port "127.0.0.1:1"
  has low_port "ermission denied"
else
  echo "SKIP low port: not root, every port unprivileged, or nobody cannot run $loco"
fi

# ---- log levels ----
run log_flag 2 "$loco" --log-level loud coordinator --listen 127.0.0.1:0
has log_flag "unknown log level 'loud'"
has log_flag "trace, debug, info, warn, error, critical, off"
run log_env 2 env LOCO_LOG_LEVEL=verbose "$loco" coordinator --listen 127.0.0.1:0
has log_env "LOCO_LOG_LEVEL"
has log_env "unknown log level 'verbose'"
# A known level is accepted: the coordinator gets as far as its listen (the busy port) and fails there.
if [[ -n "$port" ]]; then
  run log_ok 1 "$loco" --log-level warn coordinator --listen "127.0.0.1:$port"
fi

# ---- the secret file ----
run secret_dir 2 "$loco" coordinator --listen 127.0.0.1:0 --secret-file "$tmp"
has secret_dir "is a directory"
lacks secret_dir "is empty"

# ---- help ----
run help_churn 0 "$loco" churn --help
lacks help_churn "{false}"
has help_churn "default on"
run help_bench_allreduce 0 "$loco" bench allreduce --help
lacks help_bench_allreduce "{false}"
has help_bench_allreduce "default on"
run help_main 0 "$loco" --help
lacks help_main "state-worker"
lacks help_main "bench-worker"
lacks help_main "hidden"
has help_main "coordinator"
run help_state_worker 0 "$loco" state-worker --help  # hidden, not gone
run help_word 0 "$loco" help
has help_word "coordinator"
has help_word "swarm"
has help_word "churn"
run help_word_cmd 0 "$loco" help coordinator
has help_word_cmd "--listen"
run unknown_cmd 2 "$loco" frobnicate
has unknown_cmd "frobnicate"
has unknown_cmd "coordinator"
has unknown_cmd "swarm"
run help_worker 0 "$loco" worker --help
has help_worker "1048576"
run help_peer 0 "$loco" peer --help
grep -- "--duration-s" "$tmp/help_peer.out" | grep -q "0" || fail "help_peer: --duration-s shows no default"
run help_bench_state 0 "$loco" bench state --help
grep -- "--reps" "$tmp/help_bench_state.out" | grep -q "[0-9]" || fail "bench state: --reps shows no default"

if [[ "$failures" != 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "cli_errors_test: pass"
