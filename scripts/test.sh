#!/usr/bin/env bash
# The test command of README.md ("Test"), run by .ci/run on every clean clone.
# Formatting, lints, docs and the whole test suite, against a real PostgreSQL when one
# answers on GENMUX_TEST_PG (default 127.0.0.1:5432) and a temporary SQLite file always;
# the shared rate limiter's tests use the Redis of GENMUX_TEST_REDIS (default 127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."

export GENMUX_TEST_PG="${GENMUX_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
export GENMUX_TEST_REDIS="${GENMUX_TEST_REDIS:-redis://127.0.0.1:6379/}"
export RUSTDOCFLAGS="${RUSTDOCFLAGS:--D warnings}"

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo doc --workspace --no-deps --all-features --quiet
cargo test --workspace --all-features

# Getting it (issue 20 point 4): the install line of README.md works and the installed
# binary runs. `--debug` with the same target directory reuses the test build.
install_root="$(mktemp -d)"
trap 'rm -rf "$install_root"' EXIT
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" \
  cargo install --path crates/cli --locked --debug --root "$install_root" --quiet
"$install_root/bin/genmux" --version
"$install_root/bin/genmux" completions bash > /dev/null
"$install_root/bin/genmux" man > /dev/null
