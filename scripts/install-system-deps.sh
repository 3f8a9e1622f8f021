#!/usr/bin/env bash
# Debian packages the test suite uses: Chromium for the browser test of the report.
# Installs only when missing and when we can (root + apt-get); otherwise the browser
# test skips itself with a clear reason.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: Chromium not installed and not root/apt: the browser test will be skipped" >&2
  exit 0
fi
echo "installing Chromium for the browser test (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 \
  || echo "note: could not install Chromium: the browser test will be skipped" >&2
exit 0
