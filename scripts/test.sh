#!/usr/bin/env bash
# Runs damselfly's whole test suite: installs what the tests need (redis-server, redis-cli and
# redis-benchmark 7.0 as the reference), builds the release binary, and runs every unit and end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=0
for tool in redis-server redis-cli redis-benchmark; do
    command -v "$tool" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-tools redis-server >/dev/null
fi
# The packaged redis-server service is not needed: tests start their own servers on free ports.
if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server >/dev/null 2>&1 || true; fi

cargo build --release --locked
cargo test --release --locked --workspace "$@"
