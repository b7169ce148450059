#!/usr/bin/env bash
# install_test.sh: `cmake --install` of a built tree into a temporary prefix, then examples/
# allreduce.c built against the installed tree twice, as a user would: with find_package(loco)
# (tests/install/consumer) and with `pkg-config --cflags --libs loco`. Both binaries must resolve
# libloco.so.1 from the prefix, not the build tree, and together form a 2-peer swarm around the
# installed `loco coordinator`, ending with the same result checksum.
# Usage: install_test.sh CMAKE BUILD_DIR SOURCE_DIR
set -euo pipefail
cmake="$1" build="$2" src="$3"
tmp="$(mktemp -d)"
coord=""
cleanup() { [[ -n "$coord" ]] && kill "$coord" 2>/dev/null && wait "$coord" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
prefix="$tmp/prefix"

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
libdir="$(dirname "$(find "$prefix" -name libloco.so -print -quit)")"
[[ -d "$libdir" ]] || fail "no libloco.so under $prefix"
for f in "$libdir/libloco.so.1" "$prefix/include/loco/loco.h" "$prefix/bin/loco" \
         "$libdir/cmake/loco/loco-config.cmake" "$libdir/cmake/loco/loco-config-version.cmake" \
         "$libdir/pkgconfig/loco.pc"; do
  [[ -e "$f" ]] || fail "not installed: ${f#$prefix/}"
done
soname="$(readelf -d "$libdir/libloco.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[[ "$soname" == libloco.so.1 ]] || fail "SONAME is '$soname', not libloco.so.1"
echo "installed: $(cd "$prefix" && find . -type f -o -type l | sort | tr '\n' ' ')"
echo "SONAME $soname -> $(readlink "$libdir/libloco.so.1")"
# Only the C API is exported (src/capi/libloco.map).
others="$(nm -D --defined-only "$libdir/libloco.so" | awk '{print $3}' | grep -v '^loco_' || true)"
[[ -z "$others" ]] || fail "libloco exports non-API symbols: $(echo "$others" | head -5 | tr '\n' ' ')"
echo "exported: $(nm -D --defined-only "$libdir/libloco.so" | grep -c ' loco_') loco_* symbols, nothing else"

echo "== find_package(loco)"
"$cmake" -S "$src/tests/install/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DLOCO_EXAMPLE="$src/examples/allreduce.c" >"$tmp/consumer.log" 2>&1 &&
  "$cmake" --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 || { cat "$tmp/consumer.log"; fail "find_package build"; }
bin_cmake="$tmp/consumer/allreduce"

echo "== pkg-config --cflags --libs loco"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags="$(pkg-config --cflags --libs loco)"
echo "pkg-config: $flags (version $(pkg-config --modversion loco))"
bin_pc="$tmp/allreduce_pc"
# shellcheck disable=SC2086  # the flags are words
cc -std=c99 -Wall -Wextra -Wpedantic -Werror "$src/examples/allreduce.c" $flags -o "$bin_pc" ||
  fail "pkg-config build"

# The pkg-config binary has no rpath: it finds the library through LD_LIBRARY_PATH, as documented.
for b in "$bin_cmake" "$bin_pc"; do
  where="$(LD_LIBRARY_PATH="$libdir" ldd "$b" | awk '$1 == "libloco.so.1" {print $3}')"
  [[ "$where" == "$libdir/libloco.so.1" ]] || fail "$b loads libloco from '$where', not $libdir"
done
echo "both binaries load $libdir/libloco.so.1"

echo "== a 2-peer swarm: installed loco coordinator, one binary of each build"
"$prefix/bin/loco" coordinator --listen 127.0.0.1:0 --port-file "$tmp/port" --heartbeat-ms 100 \
  --heartbeat-timeout-ms 2000 >"$tmp/coordinator.log" 2>&1 &
coord=$!
for _ in $(seq 100); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port="$(cat "$tmp/port")" || { cat "$tmp/coordinator.log"; fail "no port file"; }
timeout 60 "$bin_cmake" 127.0.0.1 "$port" 2 5 >"$tmp/a.out" 2>"$tmp/a.err" &
a=$!
LD_LIBRARY_PATH="$libdir" timeout 60 "$bin_pc" 127.0.0.1 "$port" 2 5 >"$tmp/b.out" 2>"$tmp/b.err" &
b=$!
ok=1
wait "$a" || ok=0
wait "$b" || ok=0
cat "$tmp/a.out" "$tmp/b.out"
[[ "$ok" == 1 ]] || { cat "$tmp/a.err" "$tmp/b.err" "$tmp/coordinator.log"; fail "a peer failed"; }
last_a="$(tail -n 1 "$tmp/a.out")" last_b="$(tail -n 1 "$tmp/b.out")"
[[ "$last_a" == "$last_b" && "$last_a" == done:* ]] || fail "the peers disagree: '$last_a' vs '$last_b'"
echo "PASS: installed loco works with find_package and pkg-config: $last_a"
