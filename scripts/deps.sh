#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine. Usage: deps.sh build|test|bench
set -eu
mode=${1:-build}
pkgs=(build-essential pkg-config curl tzdata libuv1-dev libnghttp2-dev libzstd-dev zlib1g-dev libxxhash-dev libsnappy-dev libyaml-dev nettle-dev libcurl4-openssl-dev)
case "$mode" in
test)
    pkgs+=(libcmocka-dev clang libclang-rt-14-dev curl nghttp2-client prometheus valgrind chromium)
    ;;
bench) pkgs+=(clickhouse-server clickhouse-client nghttp2-client prometheus victoria-metrics chromium) ;;
esac
# Every build bundles the web console (console/, Vite) and the tests run on Node.js too.
# Node.js and npm may come from elsewhere than Debian's packages (npm is bundled in some
# nodejs builds and then conflicts with Debian's npm): a working command is enough.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The end-to-end tests' npm packages, exactly as the committed lockfile pins them; installed
# again only when the lockfile is newer than the last install.
if [ "$mode" = test ] && [ -f tests/e2e/package-lock.json ] &&
    { [ ! -f tests/e2e/node_modules/.package-lock.json ] ||
        [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; }; then
    echo "deps: npm ci in tests/e2e"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
