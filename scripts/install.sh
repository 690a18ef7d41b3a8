#!/usr/bin/env bash
# Installs everything crn-live needs on a fresh Debian/Ubuntu machine (CPU), then the package.
# System: FluidSynth + the FluidR3 General MIDI SoundFont (corpus) with csound's GM bank and the
# two AVL drum kits (the training palette, less the 135 MB OPL3 bank: README), ffmpeg (audio of videos),
# PortAudio + PulseAudio (real audio devices, a null sink in tests), libsndfile, and the
# libraries Qt needs offscreen and on an X display (the xcb platform plugin's libxcb-* set),
# with Xvfb for tests of the real window.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES="fluidsynth libfluidsynth3 fluid-soundfont-gm csound-soundfont avldrums.lv2-soundfont \
  libsndfile1 libportaudio2 pulseaudio \
  libasound2-plugins libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 xvfb ffmpeg \
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libxkbcommon-x11-0"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# torch is pinned to the CPU build (torch==2.13.0) in pyproject.toml.
python -m pip install -q -e ".[test]"
