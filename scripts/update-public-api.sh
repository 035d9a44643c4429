#!/usr/bin/env bash
# Rewrites Sae.Gpu/PublicAPI.Shipped.txt from the library's current public surface. The build pins that surface
# (Microsoft.CodeAnalysis.PublicApiAnalyzers: RS0016 for a public symbol not in the file, RS0017 for a listed symbol that is
# gone), so a change to the public API fails the build until this is run and the file's diff is committed on purpose.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../Sae.Gpu"
printf '#nullable enable\n' > PublicAPI.Shipped.txt
symbols="$(dotnet build -c Release --no-incremental 2>&1 | grep -oP "RS0016: Symbol '\K.*(?=' is not part of the declared public API)" | sort -u || true)"
{ printf '#nullable enable\n'; [ -n "$symbols" ] && printf '%s\n' "$symbols"; } > PublicAPI.Shipped.txt
dotnet build -c Release 2>&1 | grep -E "error|rror\(s\)" | sort -u | tail -5
echo "$(grep -c '' PublicAPI.Shipped.txt) lines; public types:"
grep -cE "^(abstract |static |sealed )?SaeGpu\.[A-Za-z]+(<T>)?$" PublicAPI.Shipped.txt
