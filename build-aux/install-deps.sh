#!/usr/bin/env bash
# Installs the Debian 12 packages Vidmark needs to build, test and run.
# Idempotent: only missing packages are installed.  Used by run.sh and test.sh.
set -euo pipefail

packages=(
  # toolchain
  gcc g++ clang lld meson ninja-build pkg-config gettext itstool git
  # engine libraries
  libglib2.0-dev libglib2.0-bin libsqlite3-dev sqlite3 libjson-glib-dev libsoup-3.0-dev libgnutls28-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-x gstreamer1.0-gl
  libvulkan-dev glslang-tools spirv-tools mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libtesseract-dev tesseract-ocr-eng libpocketsphinx-dev pocketsphinx-en-us
  # user interface
  libgtk-4-dev libadwaita-1-dev gnome-icon-theme adwaita-icon-theme
  # test and demo media
  espeak-ng ffmpeg fonts-dejavu-core shared-mime-info
  # tests, validation and benchmarks
  xvfb xauth xdotool dbus dbus-x11 at-spi2-core imagemagick desktop-file-utils appstream
  python3 python3-numpy python3-regex libopenblas-dev libopenblas0-pthread libfaiss-dev
  libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
