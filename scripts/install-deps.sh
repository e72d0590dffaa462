#!/usr/bin/env bash
# Installs the Debian packages grilly needs to build and test: the Vulkan loader and headers, Mesa's
# lavapipe (the CPU Vulkan driver used where no GPU is present), the validation layer, shader tools,
# GoogleTest, CMake/Ninja, SWIG and Python headers. Safe to run again; skips apt when all are present.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libvulkan-dev mesa-vulkan-drivers
      vulkan-validationlayers vulkan-tools glslc glslang-tools spirv-tools libgtest-dev
      swig python3-dev python3-pip python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
