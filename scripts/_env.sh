# Shared by scripts/app and scripts/test: the Debian packages and the virtualenv the
# project needs, installed only when missing so repeated runs are quick.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BUNDELASSISTENT_VENV:-$ROOT/.venv}"

ensure_debian_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

ensure_virtualenv() {
    local extras="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$extras"
}

# Qt needs a font and D-Bus on any platform plugin.
QT_DEBIAN_PACKAGES=(fonts-dejavu-core libdbus-1-3 libxkbcommon0 libfontconfig1)
# The frozen app's self-test in CI uses a real OS keyring: GNOME Keyring on a private D-Bus.
KEYRING_DEBIAN_PACKAGES=(dbus gnome-keyring binutils)

# The central server's tests run against SQLite and a throwaway PostgreSQL cluster
# (initdb/pg_ctl from /usr/lib/postgresql/*/bin; no system service is started).
POSTGRES_DEBIAN_PACKAGES=(postgresql)
# The handout tests read the printed PDF back as text (pdftotext), page by page.
PDF_DEBIAN_PACKAGES=(poppler-utils)

# Print the bin folder of the newest installed PostgreSQL, or nothing.
postgres_bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}
