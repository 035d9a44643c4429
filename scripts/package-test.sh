#!/usr/bin/env bash
# The package check (CI, after the tests): packs SaeGpu into a local folder feed, checks the package's contents and that
# its build is deterministic, saves an SAE trained by `sae train`, then builds tests/PackageConsumer -- copied out of the
# repository, referencing only the package from that feed -- and runs it: load the SAE, encode, decode, check FVU.
# Usage: scripts/package-test.sh [max-fvu (default 0.25; 600 steps reach about 0.17, one step 0.73)]. Works from any cwd; needs NuGet access for ILGPU.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
MAX_FVU="${1:-0.25}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$REPO"

# A full compile as a CI build first: an incremental pack would package whatever the last build left in bin/ (the test
# run's, with this machine's paths in it), since a changed property alone does not make MSBuild recompile.
echo "== dotnet build Sae.Gpu --no-incremental (ContinuousIntegrationBuild), then dotnet pack -> $WORK/feed"
dotnet build Sae.Gpu/Sae.Gpu.csproj -c Release --no-incremental -p:ContinuousIntegrationBuild=true -nologo -v:q
dotnet pack Sae.Gpu/Sae.Gpu.csproj -c Release --no-build -p:BuildProjectReferences=false -o "$WORK/feed" -p:ContinuousIntegrationBuild=true -nologo -v:q
VERSION="$(dotnet msbuild Sae.Gpu/Sae.Gpu.csproj -getProperty:Version)"
PACKAGE="$WORK/feed/SaeGpu.$VERSION.nupkg"

echo "== contents of $(basename "$PACKAGE")"
unzip -l "$PACKAGE"
for entry in README.md LICENSE lib/net10.0/SaeGpu.dll lib/net10.0/SaeGpu.xml lib/net10.0/SaeGpu.Kernels.dll; do
    unzip -l "$PACKAGE" "$entry" > /dev/null || { echo "package lacks $entry" >&2; exit 1; }
done
unzip -l "$WORK/feed/SaeGpu.$VERSION.snupkg" lib/net10.0/SaeGpu.pdb lib/net10.0/SaeGpu.Kernels.pdb > /dev/null \
    || { echo "symbol package lacks the .pdb files" >&2; exit 1; }
unzip -p "$PACKAGE" SaeGpu.nuspec | grep -o '<dependency [^>]*>'

echo "== deterministic build: a second full compile gives the packed SaeGpu.dll byte for byte"
unzip -q -o "$PACKAGE" lib/net10.0/SaeGpu.dll -d "$WORK/packed"
dotnet build Sae.Gpu/Sae.Gpu.csproj -c Release --no-incremental -p:ContinuousIntegrationBuild=true -nologo -v:q
cmp "$WORK/packed/lib/net10.0/SaeGpu.dll" Sae.Gpu/bin/Release/net10.0/SaeGpu.dll
sha256sum "$WORK/packed/lib/net10.0/SaeGpu.dll" Sae.Gpu/bin/Release/net10.0/SaeGpu.dll

echo "== sae train (600 steps) -> $WORK/sae.saeckpt"
dotnet run --project Sae.Cli -c Release -- train --steps 600 --checkpoint-every 0 --out "$WORK/sae.saeckpt" --json | tail -n 1

echo "== consumer project outside the repository: SaeGpu from the local feed, ILGPU from the user's NuGet sources"
cp -r tests/PackageConsumer "$WORK/consumer"
cat > "$WORK/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="saegpu-local" value="$WORK/feed" />
  </packageSources>
</configuration>
XML
# A private package folder, so a SaeGpu of the same version already in the user's cache cannot stand in for this one;
# after the restore the package used must be the one packed above.
export NUGET_PACKAGES="$WORK/packages"
dotnet build "$WORK/consumer" -c Release -p:SaeGpuVersion="$VERSION" -nologo -v:q
cmp "$WORK/packed/lib/net10.0/SaeGpu.dll" "$WORK/packages/saegpu/$VERSION/lib/net10.0/SaeGpu.dll"
dotnet run --project "$WORK/consumer" -c Release --no-build -- "$WORK/sae.saeckpt" "$MAX_FVU"
