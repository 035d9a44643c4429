#!/usr/bin/env bash
# Make NVIDIA's PTX assembler (ptxas) available without a GPU or a CUDA install.
#
# ptxas is taken from Debian 12's non-free package `nvidia-cuda-toolkit`
# (CUDA 11.8, it ships /usr/bin/ptxas; ptxas only needs glibc) and unpacked to
#   $REPO/.tools/cuda/usr/bin/ptxas
# The system's apt configuration is NOT modified: a private apt configuration
# (own sources.list with `contrib non-free` for the machine's own Debian mirror,
# own lists/cache/state dirs, system apt.conf.d hooks skipped) lives in
# $REPO/.tools/apt-ptxas. Only ptxas (and the package's copyright file) is
# extracted from the .deb; the .deb is deleted afterwards.
#
# Idempotent: if a working ptxas is already there, nothing is downloaded.
# Progress goes to stderr; the last (only) line on stdout is the absolute path
# to ptxas, so callers can do:  PTXAS="$(scripts/fetch-ptxas.sh | tail -n1)"
#
# Overrides (environment, all optional):
#   PTXAS_DEB_PACKAGE    package that contains ptxas   (default nvidia-cuda-toolkit)
#   PTXAS_DEBIAN_MIRROR  Debian mirror URL             (default: read from /etc/apt)
#   PTXAS_DEBIAN_SUITE   Debian suite, e.g. bookworm   (default: VERSION_CODENAME)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TOOLS="$REPO/.tools"
DEST="$TOOLS/cuda"
PTXAS="$DEST/usr/bin/ptxas"
PKG="${PTXAS_DEB_PACKAGE:-nvidia-cuda-toolkit}"
COMPONENTS="contrib non-free"

log() { echo "fetch-ptxas: $*" >&2; }
die() { log "error: $*"; exit 1; }

ptxas_ok() { [[ -x "$PTXAS" ]] && "$PTXAS" --version >/dev/null 2>&1; }

if ptxas_ok; then
  echo "$PTXAS"
  exit 0
fi

mkdir -p "$TOOLS"

# Serialise concurrent runs (e.g. CI and a build task at the same time).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS/.fetch-ptxas.lock"
  flock 9
  if ptxas_ok; then echo "$PTXAS"; exit 0; fi
fi

for tool in apt-get apt-config dpkg-deb tar; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (this script needs a Debian system)"
done

start=$SECONDS
STATE="$TOOLS/apt-ptxas"
DL="$STATE/download"
rm -rf "$DL"
mkdir -p "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/apt.conf.d" "$DL"
: >"$STATE/status"   # empty dpkg status: we only download, never install

# --------------------------------------------------------------------------
# 1. Work out the Debian mirror(s) and suite(s) this machine already uses.
# --------------------------------------------------------------------------
codename="${PTXAS_DEBIAN_SUITE:-}"
if [[ -z "$codename" && -r /etc/os-release ]]; then
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
fi
[[ -n "$codename" ]] || die "cannot determine the Debian codename; set PTXAS_DEBIAN_SUITE"

default_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# Prints "URI<TAB>SUITE<TAB>SIGNED-BY" for every enabled `deb` entry.
list_apt_entries() {
  local f
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    awk '
      { sub(/#.*/, "") }
      $1 != "deb" { next }
      {
        i = 2; signed = ""
        if ($2 ~ /^\[/) {                  # [ option=value ... ]
          for (; i <= NF; i++) {
            opt = $i; gsub(/[\[\]]/, "", opt)
            if (opt ~ /^signed-by=/) { sub(/^signed-by=/, "", opt); signed = opt }
            if ($i ~ /\]$/) { i++; break }
          }
        }
        if (i + 1 <= NF) printf "%s\t%s\t%s\n", $i, $(i + 1), signed
      }' "$f"
  done
  # deb822 format
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    awk '
      function flush(   nu, ns, u, s, U, S) {
        if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
          nu = split(uris, U, /[ \t]+/); ns = split(suites, S, /[ \t]+/)
          for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++)
            if (U[u] != "" && S[s] != "") printf "%s\t%s\t%s\n", U[u], S[s], signed
        }
        types = uris = suites = signed = enabled = ""; key = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/   { next }                  # continuation line (e.g. inline key)
      {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "signed-by") signed = val
        else if (key == "enabled") enabled = val
      }
      END { flush() }' "$f"
  done
}

sources_list="$STATE/sources.list"
: >"$sources_list"
if [[ -n "${PTXAS_DEBIAN_MIRROR:-}" ]]; then
  printf 'deb [signed-by=%s] %s %s %s\n' "$default_keyring" "$PTXAS_DEBIAN_MIRROR" "$codename" "$COMPONENTS" >>"$sources_list"
else
  declare -A seen=()
  while IFS=$'\t' read -r uri suite signed; do
    # Only the main archive suites (codename, codename-updates) carry
    # nvidia-cuda-toolkit; skip -security/-backports and foreign repositories.
    [[ "$suite" == "$codename" || "$suite" == "$codename-updates" ]] || continue
    [[ -n "${seen[$uri $suite]:-}" ]] && continue
    seen[$uri $suite]=1
    # Signed-By may be a keyring path or an inline key; only keep paths.
    if [[ -z "$signed" || "$signed" != /* || ! -r "$signed" ]]; then
      signed=""
      [[ -r "$default_keyring" ]] && signed="$default_keyring"
    fi
    if [[ -n "$signed" ]]; then
      printf 'deb [signed-by=%s] %s %s %s\n' "$signed" "$uri" "$suite" "$COMPONENTS"
    else
      printf 'deb %s %s %s\n' "$uri" "$suite" "$COMPONENTS"
    fi >>"$sources_list"
  done < <(list_apt_entries)
  if [[ ! -s "$sources_list" ]]; then
    log "no '$codename' entry found in /etc/apt, falling back to deb.debian.org"
    printf 'deb [signed-by=%s] http://deb.debian.org/debian %s %s\n' "$default_keyring" "$codename" "$COMPONENTS" >>"$sources_list"
  fi
fi
log "private apt sources:"
sed 's/^/    /' "$sources_list" >&2

# --------------------------------------------------------------------------
# 2. Private apt configuration (APT_CONFIG is read before apt.conf.d, so we
#    can point Dir::Etc::Parts at an empty dir and skip the system's
#    Update::Post-Invoke hooks / DEP-11 targets). Network-related settings
#    (proxies, TLS options, Check-Valid-Until, ...) are carried over.
# --------------------------------------------------------------------------
apt_conf="$STATE/apt.conf"
{
  echo "// generated by scripts/fetch-ptxas.sh"
  apt-config dump 2>/dev/null | grep -E '^Acquire::((https?|ftp|socks5?)::|Check-Valid-Until|Check-Date|Retries|ForceIPv[46])' || true
  cat <<EOF
Dir::Etc::Parts "$STATE/apt.conf.d";
Dir::Etc::Main "/dev/null";
Dir::Etc::SourceList "$sources_list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State "$STATE";
Dir::State::Lists "$STATE/lists";
Dir::State::status "$STATE/status";
Dir::Cache "$STATE/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$STATE";
Acquire::Languages { "none"; };
APT::Get::List-Cleanup "true";
EOF
  # As root, apt would drop to the _apt user for downloads; that user may not
  # be able to write into the repository, so download as root directly.
  if [[ $EUID -eq 0 ]]; then echo 'APT::Sandbox::User "root";'; fi
} >"$apt_conf"

apt_private() { APT_CONFIG="$apt_conf" "$@"; }

log "apt-get update (private configuration)"
apt_private apt-get -q update >&2 || die "apt-get update failed"

version="$(apt_private apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
[[ -n "$version" && "$version" != "(none)" ]] || die "package '$PKG' not found in: $(tr '\n' ' ' <"$sources_list")"

# --------------------------------------------------------------------------
# 3. Download the package and unpack only ptxas.
# --------------------------------------------------------------------------
log "downloading $PKG=$version"
(cd "$DL" && apt_private apt-get -q download "$PKG=$version" >&2) || die "apt-get download $PKG failed"
deb="$(find "$DL" -maxdepth 1 -name '*.deb' -print -quit)"
[[ -n "$deb" ]] || die "apt-get download produced no .deb"
log "downloaded $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# Regular file whose name is ptxas (prefer usr/bin/ptxas if several).
member="$(dpkg-deb -c "$deb" | awk '$1 ~ /^-/ && $NF ~ /\/ptxas$/ { print $NF }' | sort | awk '/\/usr\/bin\/ptxas$/ { best = $0 } { any = $0 } END { print (best != "" ? best : any) }')"
[[ -n "$member" ]] || die "$PKG does not contain ptxas (dpkg-deb -c $deb)"
copyright="$(dpkg-deb -c "$deb" | awk '$1 ~ /^-/ && $NF ~ /\/usr\/share\/doc\/[^/]+\/copyright$/ { print $NF; exit }')"

tmp="$TOOLS/cuda.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
# Like `dpkg-deb -x`, restricted to the members we need.
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "$member" ${copyright:+"$copyright"}

if [[ "$member" != "./usr/bin/ptxas" ]]; then
  mkdir -p "$tmp/usr/bin"
  mv "$tmp/${member#./}" "$tmp/usr/bin/ptxas"
fi

"$tmp/usr/bin/ptxas" --version >/dev/null 2>&1 || {
  ldd "$tmp/usr/bin/ptxas" >&2 || true
  die "extracted ptxas does not run"
}

{
  echo "package: $PKG"
  echo "version: $version"
  echo "deb: $(basename "$deb")"
  echo "deb-size: $(stat -c %s "$deb")"
  echo "deb-sha256: $(sha256sum "$deb" | cut -d' ' -f1)"
  echo "member: $member"
  echo "sources:"
  sed 's/^/  /' "$sources_list"
} >"$tmp/SOURCE.txt"

rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
rm -rf "$DL"

log "$("$PTXAS" --version | tail -n 2 | head -n 1) ready after $((SECONDS - start))s"
echo "$PTXAS"
