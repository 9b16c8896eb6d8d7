#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kubectl) from
# source into the directory setup-envtest would use: bin/k8s/<version>-<os>-<arch>/.
#
# Usage: hack/controlplane/build.sh <output-dir> <kubernetes-version>
#
# The build is skipped when every binary is present and a stamp over this module's inputs (go.mod,
# go.sum, sources, this script, the Go version) matches: a cached run costs well under a second.
set -euo pipefail

out=${1:?usage: build.sh <output-dir> <kubernetes-version>}
version=${2:?usage: build.sh <output-dir> <kubernetes-version>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

# The module must pin exactly the requested release, or the binaries would lie about their version.
pinned=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
if [[ "$pinned" != "v$version" ]]; then
  echo "hack/controlplane pins k8s.io/kubernetes $pinned but v$version was requested;" \
       "update hack/controlplane/go.mod (and every staging replace) or K8S_VERSION" >&2
  exit 1
fi

binaries=(etcd kube-apiserver kube-controller-manager kubectl)
stamp_file="$out/.build-stamp"
stamp=$( { cat go.mod go.sum build.sh etcd/main.go; go version; echo "$version"; } | sha256sum | cut -d' ' -f1)

current=true
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || current=false; done
if $current && [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
  echo "control plane v$version in $out is up to date"
  exit 0
fi

major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
# A module zip carries no git metadata, so the commit is left empty; the build date is the
# release's publication time on the module proxy, which keeps the build reproducible.
build_date=$(go list -m -json k8s.io/kubernetes | sed -n 's/.*"Time": "\(.*\)".*/\1/p')
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=" -X '$pkg.gitVersion=v$version' -X '$pkg.gitMajor=$major' -X '$pkg.gitMinor=$minor'"
  ldflags+=" -X '$pkg.gitTreeState=clean' -X '$pkg.buildDate=$build_date' -X '$pkg.gitCommit='"
done

echo "building control plane v$version into $out (first build takes several minutes)"
mkdir -p "$out"
start=$(date +%s)
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out/" \
  ./etcd \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl
echo "$stamp" > "$stamp_file"
echo "built ${binaries[*]} in $(( $(date +%s) - start ))s"
