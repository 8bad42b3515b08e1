#!/usr/bin/env bash
# Make sure wrk (Debian package wrk) is installed: the gate benchmark's HTTP load generator, so that
# the load costs the two cores as little as possible. A no-op when wrk is on the PATH; otherwise
# installs it with apt-get when running as root, and fails (the bench then falls back to its Node
# load generator) when not.
set -euo pipefail
if command -v wrk > /dev/null; then exit 0; fi
if [[ "$(id -u)" -ne 0 ]]; then
  echo "ensure-wrk: wrk is missing; install it as root: apt-get install -y wrk" >&2
  exit 1
fi
echo "ensure-wrk: installing wrk with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2 || true
apt-get install -y -q --no-install-recommends wrk < /dev/null >&2
command -v wrk > /dev/null
