#!/usr/bin/env bash
# CI: the committed WebAssembly is the one its build recorded, the module the backend imports embeds
# exactly those bytes, and everything needed to rebuild it is here. (Rebuilding needs clang-19, lld-19
# and the network: `bash packages/crypto/wasm/build.sh`, see SOURCES.md.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

for f in build.sh umbral-secp256k1.c shim/stdlib.h shim/stdio.h shim/string.h SOURCES.md secp256k1.wasm secp256k1.wasm.sha256; do
  [[ -f "$f" ]] || { echo "missing packages/crypto/wasm/$f" >&2; exit 1; }
done
grep -q '^SHA256=[0-9a-f]\{64\}$' build.sh || { echo "build.sh pins no source SHA-256" >&2; exit 1; }
pinned="$(sed -n 's/^SHA256=//p' build.sh)"
grep -q "$pinned" SOURCES.md || { echo "SOURCES.md does not record the pinned source hash $pinned" >&2; exit 1; }

sha256sum -c --quiet secp256k1.wasm.sha256 || { echo "secp256k1.wasm does not match secp256k1.wasm.sha256" >&2; exit 1; }
recorded="$(cut -d' ' -f1 secp256k1.wasm.sha256)"

generated="../src/umbral/libsecp256k1-wasm.generated.ts"
grep -q "^export const WASM_SHA256 = '$recorded'$" "$generated" ||
  { echo "$generated names another hash than secp256k1.wasm.sha256" >&2; exit 1; }
embedded="$(sed -n "/^export const WASM_BASE64 =/{n;s/^  '\(.*\)'$/\1/p}" "$generated" | base64 -d | sha256sum | cut -d' ' -f1)"
[[ "$embedded" == "$recorded" ]] ||
  { echo "$generated embeds other bytes (sha256 $embedded) than secp256k1.wasm ($recorded)" >&2; exit 1; }
echo "umbral wasm: secp256k1.wasm and its embedded copy match the recorded sha256 $recorded"
