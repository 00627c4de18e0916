#!/usr/bin/env bash
# Make sure the Debian packages Portico needs outside Python are installed.
#
#   scripts/system-deps.sh            WeasyPrint's libraries and font (+ python3-venv when missing)
#   scripts/system-deps.sh --browser  the same, plus Debian's chromium for the browser tests and
#                                     postgresql-client (pg_dump / pg_restore: the backup tests),
#                                     poppler-utils and zbar-tools (the label barcodes are scanned),
#                                     nodejs and npm (`make test` installs axe-core from package-lock.json)
#
# As root, missing packages are installed (one `apt-get update`, then `apt-get install`). As any other
# user, the script prints the exact `sudo apt-get install ...` line to run and exits with status 1.
# When everything is present it only asks dpkg-query, which takes a few milliseconds.
set -euo pipefail

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "$0"
}

browser=0
for arg in "$@"; do
    case "$arg" in
        --browser) browser=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "system-deps.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

# WeasyPrint: pango for layout, harfbuzz-subset for font subsetting (without it WeasyPrint warns on every
# PDF, which fails a warnings-as-errors test run), and a font for the PDFs.
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [[ $browser == 1 ]]; then
    packages+=(chromium postgresql-client poppler-utils zbar-tools nodejs)
    # Debian's nodejs comes without npm (its own package); NodeSource's nodejs includes it.
    if ! command -v npm >/dev/null 2>&1; then
        packages+=(npm)
    fi
fi

# The virtual environment: Debian splits `venv`'s ensurepip into python3-venv. Only needed while venv/
# does not exist yet.
if [[ ! -x "$repo_root/venv/bin/python" ]]; then
    if ! command -v "$python" >/dev/null 2>&1; then
        if [[ $python == python3 ]]; then
            packages+=(python3 python3-venv)
        else
            echo "system-deps.sh: $python not found (PYTHON=$python)" >&2
            exit 1
        fi
    elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        packages+=(python3-venv)
    fi
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps.sh: not a Debian system; make sure these (or your system's equivalents) are" \
        "installed: ${packages[*]}" >&2
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)"
    if [[ $status != ii* ]]; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} == 0 ]]; then
    exit 0
fi

install=(apt-get install -y --no-install-recommends "${missing[@]}")
if [[ $(id -u) != 0 ]]; then
    echo "Portico needs these Debian packages: ${missing[*]}" >&2
    echo "Install them, then run make again:" >&2
    echo "" >&2
    echo "    sudo apt-get update && sudo ${install[*]}" >&2
    echo "" >&2
    exit 1
fi

echo "system-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
"${install[@]}"
