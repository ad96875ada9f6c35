#!/usr/bin/env bash
# Renders the kustomize base and every overlay into infra/rendered/ with the real kustomize (kubectl's
# built-in one or a standalone binary). test/deploy checks its own renderer against these files, so
# rerun this after changing anything under infra/ and commit the result.
set -euo pipefail
cd "$(dirname "$0")"
if command -v kustomize >/dev/null; then build() { kustomize build "$1"; }
else build() { kubectl kustomize "$1"; }; fi
mkdir -p rendered
build base > rendered/base.yaml
for dir in overlays/*/; do
  name=$(basename "$dir")
  build "$dir" > "rendered/$name.yaml"
done
