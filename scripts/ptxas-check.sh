#!/usr/bin/env bash
# Assemble every *.ptx file in a directory with NVIDIA's ptxas and print a
# register / static shared memory / spill table.
#
#   scripts/ptxas-check.sh <ptx-dir>
#
# Exits non-zero if the directory holds no .ptx file or if ptxas reports an
# error for any file (all files are still checked and reported).
#
# Environment (all optional):
#   PTXAS               ptxas binary (default: output of scripts/fetch-ptxas.sh)
#   PTXAS_ARCH          target architecture        (default sm_90)
#   PTXAS_ARGS          extra ptxas arguments, whitespace-separated
#                       (e.g. "--warning-as-error" or "-maxrregcount=64")
#   PTXAS_FAIL_ON_SPILL 1 = also fail when any kernel spills registers
#   PTXAS_TABLE         also write the table as Markdown to this file (CI: artifacts/ptxas-sm90.md)
set -euo pipefail

usage() { echo "usage: $0 <ptx-dir>" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
dir="$1"
[[ -d "$dir" ]] || { echo "ptxas-check: error: '$dir' is not a directory" >&2; exit 1; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
if [[ -z "${PTXAS:-}" ]]; then
  PTXAS="$("$script_dir/fetch-ptxas.sh" | tail -n 1)"
fi
[[ -x "$PTXAS" ]] || { echo "ptxas-check: error: ptxas '$PTXAS' is not executable" >&2; exit 1; }
arch="${PTXAS_ARCH:-sm_90}"
read -r -a extra_args <<<"${PTXAS_ARGS:-}"

shopt -s nullglob
files=("$dir"/*.ptx)
shopt -u nullglob
if [[ ${#files[@]} -eq 0 ]]; then
  echo "ptxas-check: error: no .ptx files in '$dir'" >&2
  exit 1
fi

echo "ptxas-check: $("$PTXAS" --version | grep -o 'release [0-9.]*, V[0-9.]*' || echo "$PTXAS"), -arch=$arch, ${#files[@]} file(s) in $dir"

rows=()       # name|entries|regs|smem|spill_st|spill_ld|status
details=""    # ptxas output of failed files / warnings
failed=0
spilled=0
for f in "${files[@]}"; do
  name="$(basename "$f")"
  set +e
  out="$("$PTXAS" "-arch=$arch" -v ${extra_args[@]+"${extra_args[@]}"} -o /dev/null "$f" 2>&1)"
  rc=$?
  set -e
  # entries, max registers and static shared memory over entries, summed spill stores / loads (bytes)
  read -r entries regs smem st ld < <(awk '
    /Compiling entry function/ { e++ }
    match($0, /Used [0-9]+ registers/) {
      n = substr($0, RSTART + 5) + 0; if (n > r) r = n; seen = 1
    }
    match($0, /[0-9]+ bytes smem/) { m = substr($0, RSTART) + 0; if (m > sm) sm = m }
    match($0, /[0-9]+ bytes spill stores/) { s += substr($0, RSTART) + 0 }
    match($0, /[0-9]+ bytes spill loads/)  { l += substr($0, RSTART) + 0 }
    END { printf "%d %s %d %d %d\n", e, (seen ? r : "-"), sm, s, l }' <<<"$out")
  status=ok
  if [[ $rc -ne 0 ]] || grep -qE '(error|fatal)[[:space:]]*:' <<<"$out"; then
    status="FAIL(rc=$rc)"
    failed=$((failed + 1))
    details+=$'\n'"--- $name ---"$'\n'"$out"$'\n'
  else
    if grep -qE 'warning[[:space:]]*:' <<<"$out"; then
      status="ok(warn)"
      details+=$'\n'"--- $name (warnings) ---"$'\n'"$(grep -E 'warning[[:space:]]*:' <<<"$out")"$'\n'
    fi
    if [[ $st -gt 0 || $ld -gt 0 ]]; then
      spilled=$((spilled + 1))
      [[ "${PTXAS_FAIL_ON_SPILL:-0}" == 1 ]] && status="SPILL" && failed=$((failed + 1))
    fi
  fi
  rows+=("$name|$entries|$regs|$smem|$st|$ld|$status")
done

w=6
for r in "${rows[@]}"; do n="${r%%|*}"; ((${#n} > w)) && w=${#n}; done
printf "%-${w}s  %7s  %4s  %10s  %12s  %11s  %s\n" kernel entries regs smem spill_stores spill_loads status
for r in "${rows[@]}"; do
  IFS='|' read -r n e rg sm s l stt <<<"$r"
  printf "%-${w}s  %7s  %4s  %10s  %12s  %11s  %s\n" "$n" "$e" "$rg" "${sm}B" "${s}B" "${l}B" "$stt"
done

if [[ -n "${PTXAS_TABLE:-}" ]]; then
  mkdir -p "$(dirname "$PTXAS_TABLE")"
  {
    echo "# ptxas: registers, shared memory and spills per kernel ($arch)"
    echo
    echo "Written by scripts/ptxas-check.sh from the PTX that the test suite dumps; $("$PTXAS" --version | grep -o 'release [0-9.]*, V[0-9.]*' || echo "$PTXAS")."
    echo
    echo "| kernel | entries | registers | static smem | spill stores | spill loads | status |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for r in "${rows[@]}"; do
      IFS='|' read -r n e rg sm s l stt <<<"$r"
      echo "| ${n%.ptx} | $e | $rg | ${sm} B | ${s} B | ${l} B | $stt |"
    done
  } >"$PTXAS_TABLE"
  echo "ptxas-check: table written to $PTXAS_TABLE"
fi

if [[ -n "$details" ]]; then
  printf '%s' "$details" >&2
fi
if [[ $spilled -gt 0 ]]; then
  echo "ptxas-check: $spilled file(s) spill registers" >&2
fi
if [[ $failed -gt 0 ]]; then
  echo "ptxas-check: FAILED: $failed of ${#files[@]} file(s)" >&2
  exit 1
fi
echo "ptxas-check: all ${#files[@]} file(s) assembled for $arch"
