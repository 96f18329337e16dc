#!/usr/bin/env bash
# Makes sure what the tests need is on this machine: the running services (MariaDB, NATS)
# and the Debian packages tests start themselves (OpenSSH's sshd for SFTP tests, Chromium
# for browser tests). Run by `npm test` (pretest) and by .ci/run; idempotent and quick
# when everything is there. Installing needs root (as on CI machines); otherwise it says
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/services.sh
ensure_services

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "ci: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "tests need these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
