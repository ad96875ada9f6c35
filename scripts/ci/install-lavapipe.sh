#!/usr/bin/env bash
# Installs Mesa's lavapipe (software Vulkan) so the tfjs webgpu backend (Dawn, `webgpu` npm package)
# runs on CPU-only machines. Idempotent: does nothing when a new-enough lavapipe is already there.
#
# Why: Dawn refuses Debian 12's Mesa 22.3 ("shaderUniform*ArrayDynamicIndexing required"); Mesa 25
# from bookworm-backports works. Debian 13 ships Mesa 25 itself, so plain apt is enough there.
#
# Run as root. Callers sharing a machine should serialise apt: `flock /tmp/apt.lock scripts/ci/install-lavapipe.sh`.
set -euo pipefail

MIN_MESA_MAJOR=23

mesa_major() {
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  case "$v" in
    "install ok installed "*) v=${v#install ok installed }; v=${v#*:}; echo "${v%%.*}" ;;
    *) echo 0 ;;
  esac
}

have_loader() { dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'install ok installed'; }

if [ "$(mesa_major)" -ge "$MIN_MESA_MAJOR" ] && have_loader; then
  echo "install-lavapipe: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi

if [ ! -r /etc/debian_version ]; then
  echo "install-lavapipe: not a Debian system; install Mesa >= ${MIN_MESA_MAJOR} lavapipe and libvulkan1 yourself" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
debian_major=$(cut -d. -f1 </etc/debian_version)

case "$debian_major" in
  12)
    list=/etc/apt/sources.list.d/bookworm-backports.list
    if ! grep -rqs '^deb .*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ &&
      ! grep -rqs 'Suites:.*bookworm-backports' /etc/apt/sources.list.d/; then
      echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$list"
    fi
    apt-get update
    apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1
    ;;
  *)
    # Debian 13 (trixie) and later ship Mesa >= 25.
    apt-get update
    apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1
    ;;
esac

if [ "$(mesa_major)" -lt "$MIN_MESA_MAJOR" ]; then
  echo "install-lavapipe: installed mesa-vulkan-drivers is older than ${MIN_MESA_MAJOR}; Dawn will refuse it" >&2
  exit 1
fi
echo "install-lavapipe: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) installed"
