#!/usr/bin/env bash
# trainer_check_test.sh: with the real loco-train, `loco-train train --check` accepts good options
# without joining anything, and `loco swarm` rejects a bad strategy option of its last entry
# before any peer starts, naming the entry and the option. Usage: $0 LOCO_BINARY LOCO_TRAIN_BINARY
set -u
loco="$1" trainer="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Good options: "options ok", exit 0, and no coordinator needed (port 1 has none).
timeout 60 "$trainer" train --check --coordinator 127.0.0.1:1 --strategy diloco --H 5 \
  --outer-lr 0.5 --steps 4 >"$tmp/good.out" 2>&1
rc=$?
[[ "$rc" == 0 ]] || fail "good options: exit $rc: $(cat "$tmp/good.out")"
grep -q "options ok" "$tmp/good.out" || fail "good options: no 'options ok': $(cat "$tmp/good.out")"

# A bad value in the second entry: exit 2 before the first entry's peers start.
timeout 120 "$loco" swarm --peers 2 --steps 4 --strategies "ddp,diloco:5+outer-lr=-1" --plain \
  --out "$tmp/run" >"$tmp/swarm.out" 2>&1
rc=$?
[[ "$rc" == 2 ]] || fail "bad outer lr: exit $rc, want 2: $(cat "$tmp/swarm.out")"
grep -q -- "--strategies entry 'diloco H=5 outer-lr=-1'" "$tmp/swarm.out" ||
  fail "bad outer lr: entry not named: $(cat "$tmp/swarm.out")"
grep -qi -- "outer" "$tmp/swarm.out" || fail "bad outer lr: option not named: $(cat "$tmp/swarm.out")"
[[ ! -e "$tmp/run/ddp" ]] || fail "bad outer lr: the ddp run started before the check"

# An unknown option: CLI11's words, without its "Run with --help".
timeout 120 "$loco" swarm --peers 2 --steps 4 --strategies "ddp+outer-lrr=1" --plain \
  --out "$tmp/run2" >"$tmp/typo.out" 2>&1
rc=$?
[[ "$rc" == 2 ]] || fail "typo: exit $rc, want 2: $(cat "$tmp/typo.out")"
grep -q -- "--outer-lrr" "$tmp/typo.out" || fail "typo: option not named: $(cat "$tmp/typo.out")"
if grep -q "Run with --help" "$tmp/typo.out"; then fail "typo: says 'Run with --help'"; fi

if [[ "$failures" -gt 0 ]]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "trainer option checks: all passed"
