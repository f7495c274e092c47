#!/usr/bin/env bash
# Installs every Debian 12 package DisCo needs to build, run and test.
# Idempotent and non-interactive; waits for the dpkg lock instead of failing.
set -euo pipefail

PACKAGES=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libglib2.0-dev libglib2.0-bin
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-tools gstreamer1.0-nice gstreamer1.0-libav
  libnice-dev libssl-dev openssl libsofia-sip-ua-dev libsofia-sip-ua-glib-dev
  libjson-c-dev libsoup-3.0-dev libxml2-dev libxml2-utils libopus-dev
  sip-tester tshark valgrind curl iproute2 chromium baresip xxd git
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi

echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer it up front.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
echo "setup: done"
