#!/usr/bin/env bash
# `just bench` (after the cargo benches): wall times of whole commands, side by side with their anchors.
#   - `cargo test --workspace` and `cargo nextest run --workspace`, warm (built and run once first);
#   - the catalog against each real RP under rps/ (tests/real_rps.rs, nextest, one RP at a time),
#     4 × CPUs scenarios at once beside one at a time;
#   - a downstream crate's cold build: a new crate whose only dev-dependency is this checkout's
#     sso-harness (default features), `cargo test` from an empty target folder (crates already in the
#     local registry cache; nothing else of ours shares its target folder).
# `--skip-rps`, `--skip-cold` leave those parts out. Runs are counted, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
skip_rps=false; skip_cold=false
for arg in "$@"; do
  case "$arg" in --skip-rps) skip_rps=true ;; --skip-cold) skip_cold=true ;; esac
done

row() { printf '  %-62s %14s   %s\n' "$1" "$2" "$3"; }
log=/tmp/sso-bench-walls.$$.log
# Runs a command quietly; prints its wall time in seconds and its exit status.
timed() {
  local start end status=0
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1 || status=$?
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v st="$status" 'BEGIN { printf "%.1f s (exit %d)", e - s, st }'
}
machine() {
  printf 'machine: %s CPUs (%s), %s GiB, load average %s (shared machine), %s\n' "$(nproc)" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
    "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(rustc --version)"
}

echo "sso-repro whole commands (wall, 1 run each)"
machine
row what figure anchor
cargo test --workspace --no-run >/dev/null 2>&1
cargo test --workspace >/dev/null 2>&1 || true
row "cargo test --workspace (warm)" "$(timed cargo test --workspace)" "was 102 s (2026-12-01)"
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-run >/dev/null 2>&1
  row "cargo nextest run --workspace (warm)" "$(timed cargo nextest run --workspace)" "was 123 s (2026-12-01)"
else
  row "cargo nextest run --workspace" "not installed" "cargo install cargo-nextest"
fi

if ! $skip_rps && command -v cargo-nextest >/dev/null; then
  # Each test starts its own RP process on its own ports, so every RP takes scenarios concurrently;
  # the anchor is the same catalog one at a time. A scenario that does not apply to an RP ends at once.
  cargo nextest run --test real_rps --no-run >/dev/null 2>&1
  jobs=$(( $(nproc) * 4 ))
  for rp in rps/*/; do
    name=$(basename "$rp")
    filter="test(/${name//-/_}/)"
    cargo nextest run --test real_rps -E "$filter" >/dev/null 2>&1 || true # builds the RP once
    wall=$(timed cargo nextest run --test real_rps -E "$filter" -j "$jobs")
    summary=$(grep -E '^ *Summary' "$log" | tail -1 | sed 's/^ *Summary \[ *[0-9.]*s\] //')
    one=$(timed cargo nextest run --test real_rps -E "$filter" -j 1)
    row "catalog against $name, $jobs at a time" "$wall" "1 at a time: $one; $summary"
  done
fi

if ! $skip_cold; then
  dir=$(mktemp -d /tmp/sso-bench-downstream.XXXXXX)
  mkdir -p "$dir/src" "$dir/tests"
  : >"$dir/src/lib.rs"
  cat >"$dir/Cargo.toml" <<TOML
[package]
name = "downstream"
version = "0.1.0"
edition = "2021"

[dev-dependencies]
sso-harness = { path = "$PWD/harness" }
TOML
  cat >"$dir/tests/first.rs" <<'RS'
#[test]
fn the_harness_makes_a_ca() {
    assert!(sso_harness::Ca::new("downstream CA").unwrap().pem().contains("BEGIN CERTIFICATE"));
}
RS
  (cd "$dir" && cargo generate-lockfile --offline >/dev/null 2>&1 || cargo generate-lockfile >/dev/null 2>&1)
  load=$(cut -d' ' -f1 /proc/loadavg)
  wall=$(cd "$dir" && timed env CARGO_TARGET_DIR="$dir/target" cargo test --offline)
  crates=$(cd "$dir" && cargo tree -e normal,build,dev --prefix none 2>/dev/null | sort -u | wc -l)
  twice=$(cd "$dir" && cargo tree -d -e normal,build,dev --depth 0 2>/dev/null | grep ' v' | cut -d' ' -f1 | sort -u | wc -l)
  row "downstream crate, cold cargo test, default features" "$wall" "< 100 s; was 115 s (load $load at start)"
  row "  crates in its graph / crates there in two versions" "$crates / $twice" "cargo tree -d"
  rm -rf "$dir"
fi
rm -f "$log"
