#!/usr/bin/env bash
# Builds the real components the end-to-end tests run against — kube-apiserver
# and kubectl, etcd, helm, Jaeger, OPA and the versitygw S3 gateway (object
# storage for shipped ledgers) — from Go modules, once per machine.
#
#   scripts/e2e-tools.sh                 build what is missing, link it into .tools/bin
#   scripts/e2e-tools.sh opa helm        only these tools
#   scripts/e2e-tools.sh --print-bin     print the directory the tests use
#   scripts/e2e-tools.sh --regen-kubernetes [1.37.2]
#                                        regenerate scripts/e2e-tools/kubernetes/go.mod
#                                        (its staging replaces) from the upstream go.mod
#
# Each tool is its own wrapper module under scripts/e2e-tools/<tool>/, so Go's
# version selection never moves one tool's dependencies because of another.
# A build lands in $PORTCULLIS_TOOLS_CACHE (default ~/.cache/portcullis/tools)
# under <tool>-<version>-<hash>, the hash covering go.mod, go.sum, the build
# recipe and the Go version: CI on the same machine reuses what development
# built, and a changed pin builds afresh.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODULES="$ROOT/scripts/e2e-tools"
CACHE="${PORTCULLIS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portcullis/tools}"
BIN="$ROOT/.tools/bin"
ALL_TOOLS=(opa helm etcd jaeger kubernetes versitygw)

# tool → version, Go packages to build ([binary=]package; the binary is named
# after the package's last element unless given), -ldflags (the binaries
# report their real version)
recipe() {
  case "$1" in
    kubernetes)
      VERSION=v1.37.2
      PACKAGES="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl"
      local v=${VERSION#v} major minor
      major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
      LDFLAGS="-s -w"
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        LDFLAGS+=" -X $pkg.gitVersion=$VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      done ;;
    etcd)
      VERSION=v3.6.16
      PACKAGES="etcd=go.etcd.io/etcd/server/v3"
      LDFLAGS="-s -w" ;;
    helm)
      VERSION=v4.3.2
      PACKAGES="helm.sh/helm/v4/cmd/helm"
      LDFLAGS="-s -w -X helm.sh/helm/v4/internal/version.version=$VERSION" ;;
    jaeger)
      VERSION=v1.75.0
      PACKAGES="github.com/jaegertracing/jaeger/cmd/jaeger"
      LDFLAGS="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$VERSION" ;;
    opa)
      VERSION=v1.22.4
      PACKAGES="github.com/open-policy-agent/opa"
      LDFLAGS="-s -w -X github.com/open-policy-agent/opa/v1/version.Version=${VERSION#v}" ;;
    versitygw)
      # An S3-compatible server over a directory (posix backend): about a
      # minute to build, against the many minutes of SeaweedFS or MinIO.
      VERSION=v1.8.0
      PACKAGES="github.com/versity/versitygw/cmd/versitygw"
      LDFLAGS="-s -w -X main.Version=$VERSION" ;;
    *) echo "e2e-tools: unknown tool '$1' (known: ${ALL_TOOLS[*]})" >&2; exit 2 ;;
  esac
}

binary_name() { case "$1" in *=*) echo "${1%%=*}" ;; *) basename "$1" ;; esac; }
package_path() { echo "${1#*=}"; }

cache_dir() {
  local tool=$1 hash
  hash=$( { cat "$MODULES/$tool/go.mod" "$MODULES/$tool/go.sum"; echo "$PACKAGES|$LDFLAGS"; go env GOVERSION; } | sha256sum | cut -c1-12)
  echo "$CACHE/$tool-$VERSION-$hash"
}

build_tool() {
  local tool=$1 dir started pkg
  recipe "$tool"
  dir=$(cache_dir "$tool")
  if [ -f "$dir/.complete" ]; then
    echo "e2e-tools: $tool $VERSION cached ($dir)"
  else
    echo "e2e-tools: building $tool $VERSION (downloading modules, then compiling; first build on a machine takes minutes)"
    started=$(date +%s)
    rm -rf "$dir.partial"; mkdir -p "$dir.partial/bin"
    (
      cd "$MODULES/$tool"
      go mod download -x 2>&1 | awk '/^# get/ { n++; if (n % 50 == 0) printf "e2e-tools:   %s: %d modules fetched\n", tool, n }' tool="$tool"
      for pkg in $PACKAGES; do
        CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o "$dir.partial/bin/$(binary_name "$pkg")" "$(package_path "$pkg")"
      done
    )
    touch "$dir.partial/.complete"
    rm -rf "$dir"; mv "$dir.partial" "$dir"
    echo "e2e-tools: built $tool $VERSION in $(( $(date +%s) - started )) s"
  fi
  mkdir -p "$BIN"
  for pkg in $PACKAGES; do
    ln -sfn "$dir/bin/$(binary_name "$pkg")" "$BIN/$(binary_name "$pkg")"
  done
}

regen_kubernetes() {
  local version=${1:-1.37.2} upstream
  upstream=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  [ -f "$upstream" ] || { echo "e2e-tools: could not download k8s.io/kubernetes@v$version" >&2; exit 1; }
  cd "$MODULES/kubernetes"
  printf 'module portcullis.dev/e2e-tools/kubernetes\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n' "$version" > go.mod
  rm -f go.sum
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
  # with ./staging paths, which only exist in its own repository: point each at
  # the published v0.<minor>.<patch> instead.
  go mod edit -json "$upstream" \
    | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
               for (const r of m.Replace ?? []) if (r.New.Path.startsWith("./staging/")) console.log(r.Old.Path);' \
    | while read -r staged; do go mod edit -replace "$staged=$staged@v0.${version#1.}"; done
  go mod edit -tool k8s.io/kubernetes/cmd/kube-apiserver -tool k8s.io/kubernetes/cmd/kubectl
  go mod tidy
  echo "e2e-tools: scripts/e2e-tools/kubernetes/go.mod now pins k8s.io/kubernetes v$version; update VERSION in recipe() to match"
}

case "${1:-}" in
  --print-bin) echo "$BIN"; exit 0 ;;
  --regen-kubernetes) shift; regen_kubernetes "$@"; exit 0 ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

command -v go >/dev/null || { echo "e2e-tools: 'go' is not on PATH; the end-to-end tools are built from Go modules (Go 1.26)" >&2; exit 1; }
tools=("$@"); [ ${#tools[@]} -gt 0 ] || tools=("${ALL_TOOLS[@]}")
# One build at a time per cache: a second run (another test process, CI beside
# a developer) waits, then finds the tools built.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  echo "e2e-tools: another scripts/e2e-tools.sh is building into $CACHE; waiting for it"
  flock 9
fi
total_started=$(date +%s)
for tool in "${tools[@]}"; do build_tool "$tool"; done
echo "e2e-tools: ${#tools[@]} tool(s) ready in $BIN ($(( $(date +%s) - total_started )) s)"
