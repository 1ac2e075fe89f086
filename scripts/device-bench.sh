#!/usr/bin/env bash
# The full-size inference bench (bench/inferenceFull.ts, the table of `npm run bench -- inference --full-size`) on a
# lent GPU machine, for the GPU providers onnxruntime-node 1.30 ships for Linux x64: `cuda` and `webgpu` (its binary
# also names tensorrt, which needs the same CUDA libraries plus TensorRT's; SD-ONNX §4.1). Such a machine has no
# network and no Node, so the script has two halves:
#
#   scripts/device-bench.sh prepare
#       here, in a checkout with node_modules: fills .devbench/ (ignored through .git/info/exclude) with Node (xz),
#       onnxruntime-node's Linux x64 binding and library (the library xz'd), the bench bundled by esbuild with its
#       child, and Debian's Vulkan loader (.deb, for WebGPU); ONNX Runtime's CUDA provider libraries too when this
#       install has them (an npm install with onnxruntime-node-install=cuda12 fetches them from NuGet). About 45 MB.
#
#   scripts/device-bench.sh [--providers cuda,webgpu] [bench options…]
#       there (device tool: run, carry ['.devbench'], timeout_s 600): unpacks .devbench into /tmp, installs the Vulkan
#       loader, names the GPU, then for each provider first opens a one-node MultiHeadAttention model on it (fp32 and
#       fp16) and prints why it cannot when it cannot, and runs the bench only on a provider that opened. Bench options
#       pass through (default `--dtype fp32,fp16 --steps 4 --size 512`); the weights are written on the machine
#       (≈ 2 minutes per dtype). Each table is also written to $OUT/device-bench-<provider>.json when $OUT is set.
#
# Why a provider can fail there, as far as known here (the probe prints the runtime's own words):
# - cuda: libonnxruntime_providers_shared.so / _cuda.so missing (not in .devbench unless this install fetched them),
#   or CUDA 12 + cuDNN 9 missing (onnxruntime-node 1.30 wants CUDA 12; the lent image carries CUDA 13 libraries).
# - webgpu: libvulkan.so.1 missing (installed from .devbench/deb here) or no Vulkan driver for the GPU (the NVIDIA
#   ICD file is looked for under /usr/local/nvidia and /usr/share/vulkan).
set -uo pipefail
cd "$(dirname "$0")/.."
DB=.devbench
ORT_LINUX=node_modules/onnxruntime-node/bin/napi-v6/linux/x64

prepare() {
  set -e
  [ -d node_modules/onnxruntime-node ] || { echo "prepare needs node_modules (npm install) in this checkout" >&2; exit 1; }
  grep -qx '/.devbench/' .git/info/exclude 2>/dev/null || echo '/.devbench/' >>.git/info/exclude
  rm -rf "$DB" && mkdir -p "$DB/js" "$DB/deb" "$DB/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  echo "bundling the bench…"
  npx esbuild bench/inferenceFullCli.ts bench/inferenceFullChild.ts --bundle --platform=node --format=esm --target=node20 \
    --outdir="$DB/js" --out-extension:.js=.mjs --external:onnxruntime-node --log-level=warning
  echo "packing Node and onnxruntime-node (xz, about two minutes)…"
  local node_bin=node_modules/node/bin/node
  [ -x "$node_bin" ] || node_bin=$(node -p "process.execPath")
  xz -6 -T0 -c "$node_bin" >"$DB/node.xz"
  cp -r node_modules/onnxruntime-common "$DB/node_modules/"
  cp node_modules/onnxruntime-node/package.json "$DB/node_modules/onnxruntime-node/"
  cp -r node_modules/onnxruntime-node/dist "$DB/node_modules/onnxruntime-node/"
  cp "$ORT_LINUX/onnxruntime_binding.node" "$DB/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/"
  for lib in "$ORT_LINUX"/libonnxruntime*.so*; do xz -6 -T0 -c "$lib" >"$DB/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/$(basename "$lib").xz"; done
  if ! ls "$ORT_LINUX"/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then
    echo "note: this install has no ONNX Runtime CUDA provider libraries, so cuda will report them missing on the device"
  fi
  echo "fetching Debian's Vulkan loader (for WebGPU)…"
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  if apt-get $o update >/dev/null 2>&1 && (cd "$DB/deb" && apt-get $o download libvulkan1 >/dev/null 2>&1); then :; else
    echo "note: could not download libvulkan1; webgpu will report libvulkan.so.1 missing unless the device has it"
  fi
  set +e
  local size
  size=$(du -sb "$DB" | cut -f1)
  echo "$DB holds $((size / 1048576)) MiB (the device tool carries 64 MiB with the working tree)"
  [ "$size" -lt $((58 * 1048576)) ] || echo "warning: too large to carry beside the working tree" >&2
}

unpack() {
  WORK=/tmp/hordedesk-devbench
  rm -rf "$WORK" && mkdir -p "$WORK"
  cp -r "$DB/js" "$DB/node_modules" "$WORK/"
  for packed in "$WORK"/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/*.xz; do unxz "$packed"; done
  unxz -c "$DB/node.xz" >"$WORK/node" && chmod +x "$WORK/node"
  # DEVBENCH_LOCAL=1: a dry run on a developer's machine, which must not get packages unpacked into its /.
  if [ -z "${DEVBENCH_LOCAL:-}" ]; then
    for deb in "$DB"/deb/*.deb; do [ -e "$deb" ] && dpkg -x "$deb" /; done
    ldconfig 2>/dev/null || true
  fi
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -e "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
  done
}

main() {
  if [ "${1:-}" = prepare ]; then prepare; return; fi
  local providers=cuda,webgpu
  local pass=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --providers) providers="$2"; shift 2 ;;
      *) pass+=("$1"); shift ;;
    esac
  done
  [ -d "$DB/js" ] || { echo "no $DB here: run 'scripts/device-bench.sh prepare' in a checkout with node_modules, then carry .devbench" >&2; exit 2; }
  unpack
  echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
  echo "Vulkan loader: $(ldconfig -p 2>/dev/null | grep -c 'libvulkan.so.1') found; driver file: ${VK_DRIVER_FILES:-none found}"
  local status=0
  for provider in ${providers//,/ }; do
    echo
    echo "== $provider"
    if ! "$WORK/node" "$WORK/js/inferenceFullCli.mjs" --probe "$provider"; then
      status=1
      continue
    fi
    local out=()
    [ -n "${OUT:-}" ] && out=(--out "$OUT/device-bench-$provider.json")
    # The first of a repeated option wins, so the caller's options go before the defaults.
    "$WORK/node" "$WORK/js/inferenceFullCli.mjs" --provider "$provider" ${pass[@]+"${pass[@]}"} ${out[@]+"${out[@]}"} \
      --dtype fp32,fp16 --steps 4 --size 512 || status=1
  done
  return $status
}

main "$@"
