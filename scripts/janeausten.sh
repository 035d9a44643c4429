#!/usr/bin/env bash
# Writes Jane Austen's six novels as plain text, one file per novel (lines joined with newlines), into OUTDIR:
# emma.txt, mansfieldpark.txt, northangerabbey.txt, persuasion.txt, prideprejudice.txt, sensesensibility.txt.
# Source: Debian's r-cran-janeaustenr package (downloaded, not installed: no root needed), whose data/Rdata.rdb holds the
# novels as R character vectors; scripts/rdata_to_txt.py decodes them with the Python 3 standard library.
# Needs: apt-get, dpkg-deb, python3. Usage: scripts/janeausten.sh OUTDIR
set -euo pipefail
if [[ $# -ne 1 ]]; then echo "usage: $0 OUTDIR" >&2; exit 2; fi
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"   # lets apt's unprivileged _apt user write the download when run as root
cd "$tmp"

# apt-get download needs the package lists. Use the system's; if the package is not in them, refresh them (root) or, as an
# ordinary user, fetch a private copy of the lists into the temporary folder (no locks, no writes outside it).
apt_opts=()
if ! apt-get download r-cran-janeaustenr >/dev/null 2>apt.err; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
  else
    mkdir -p lists/partial cache/archives/partial
    apt_opts=(-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Debug::NoLocking=1)
    apt-get "${apt_opts[@]}" update -qq 2>apt.err || { cat apt.err >&2; echo "error: could not fetch package lists" >&2; exit 1; }
  fi
  apt-get "${apt_opts[@]}" download r-cran-janeaustenr >/dev/null 2>apt.err \
    || { cat apt.err >&2; echo "error: could not download r-cran-janeaustenr" >&2; exit 1; }
fi
dpkg-deb -x r-cran-janeaustenr_*.deb pkg
data=$(dirname "$(find pkg -path '*/janeaustenr/data/Rdata.rdb' | head -n 1)")
[[ -f "$data/Rdata.rdx" ]] || { echo "error: the package has no janeaustenr/data/Rdata.rdb and .rdx" >&2; exit 1; }
python3 "$here/rdata_to_txt.py" "$data" "$out" emma mansfieldpark northangerabbey persuasion prideprejudice sensesensibility
