#!/usr/bin/env bash
# Builds every kustomization under deploy/k8s with `kubectl kustomize` and validates the
# output offline (validate-schemas.mjs: Kubernetes OpenAPI schemas via kubernetes-models,
# Pod Security "restricted", references between the objects). No cluster needed.
#
#   bash deploy/k8s/validate.sh                  every kustomization under deploy/k8s
#   bash deploy/k8s/validate.sh DIR[,DIR...] ... only these; DIRs joined by commas are
#                                                validated together as one set
#   KUBECTL=/path/to/kubectl bash deploy/k8s/validate.sh    use that kubectl
#
# A kustomization in a directory named `canary` is an add-on applied after its parent
# (overlays/dev/canary after overlays/dev), so it is validated together with the parent.
#
# kustomize: uses `kubectl kustomize` when kubectl is installed, else `kustomize build`, else
# installs Debian's kubernetes-client (kubectl 1.20, kustomize v2.0.3) with apt-get. The
# manifests use only what kustomize v2.0.3 understands, so every version from v2.0.3 to v5
# builds them; kustomize v4+ prints deprecation warnings for `bases` and
# `patchesStrategicMerge`, which are filtered out below.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# ---- a kustomize ------------------------------------------------------------------------
install_kubectl() {
  echo "validate.sh: no kubectl or kustomize found; installing Debian's kubernetes-client" >&2
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "validate.sh: need root or sudo to apt-get install kubernetes-client" >&2; exit 2; }
    apt=(sudo "${apt[@]}")
  fi
  # The package lists may be missing or stale on a fresh machine: update once, then retry.
  if ! "${apt[@]}" install -y --no-install-recommends kubernetes-client >/dev/null 2>&1; then
    "${apt[@]}" update >/dev/null
    "${apt[@]}" install -y --no-install-recommends kubernetes-client >/dev/null
  fi
}

build=()
if [ -n "${KUBECTL:-}" ]; then
  build=("$KUBECTL" kustomize)
elif command -v kubectl >/dev/null 2>&1; then
  build=(kubectl kustomize)
elif command -v kustomize >/dev/null 2>&1; then
  build=(kustomize build)
else
  install_kubectl
  build=(kubectl kustomize)
fi
if [ "${build[1]}" = kustomize ]; then
  version="$("${build[0]}" version --client 2>/dev/null | tr '\n' ' ' || true)"
  case "$version" in
    *"Kustomize Version"*) kversion="$(sed -E 's/.*Kustomize Version: ([^ ]+).*/\1/' <<<"$version")" ;;
    *'Minor:"'1[0-9]'"'* | *'Minor:"20"'*) kversion="v2.0.3 (embedded in kubectl 1.14-1.20)" ;;
    *) kversion="embedded (${version:-unknown kubectl version})" ;;
  esac
else
  kversion="$(kustomize version 2>/dev/null | head -1)"
fi
echo "kustomize: ${build[*]} -> $kversion"

node -e "import('kubernetes-models').then(() => import('yaml'))" 2>/dev/null || {
  echo "validate.sh: node_modules lacks kubernetes-models or yaml; run npm ci at the repo root" >&2
  exit 2
}

# ---- what to build ----------------------------------------------------------------------
targets=()
if [ $# -gt 0 ]; then
  targets=("$@")
else
  while IFS= read -r dir; do
    if [ "$(basename "$dir")" = canary ]; then targets+=("$(dirname "$dir"),$dir"); else targets+=("$dir"); fi
  done < <(find deploy/k8s -name kustomization.yaml | sed 's|/kustomization.yaml$||' | sort)
fi

# ---- build and validate -----------------------------------------------------------------
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
n=0
for target in "${targets[@]}"; do
  IFS=, read -r -a dirs <<<"$target"
  files=()
  ok=1
  for dir in "${dirs[@]}"; do
    n=$((n + 1))
    out="$tmp/$n.yaml"
    if "${build[@]}" "$dir" >"$out" 2>"$tmp/$n.err"; then
      # Only the deprecation notices that v2.0.3 compatibility costs are expected on stderr.
      grep -v -E "^# Warning: '(bases|patchesStrategicMerge)' is deprecated" "$tmp/$n.err" >&2 || true
      files+=("$out")
    else
      echo "  ✖ kustomize build $dir failed:" >&2
      sed 's/^/      /' "$tmp/$n.err" >&2
      ok=0
    fi
  done
  if [ $ok = 1 ] && node "$here/validate-schemas.mjs" --label "${target//,/ + }" "${files[@]}"; then
    passed=$((passed + 1))
  else
    [ $ok = 1 ] || echo "✖ ${target//,/ + }: not built"
    failed=$((failed + 1))
  fi
done

echo "k8s manifests: $passed passed, $failed failed"
[ "$failed" = 0 ]
