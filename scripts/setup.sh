#!/usr/bin/env bash
# Installs what is missing: Debian packages (only when absent) and the virtual environment from the
# pinned requirements (only when they changed). Safe to run again; quick when nothing is missing.
#   scripts/setup.sh run   → what running the product needs
#   scripts/setup.sh test  → plus PostgreSQL 15, Chromium, fonts and the test tools
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

# WeasyPrint renders PDFs through Pango.
apt_packages=(fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0)
if [ "$mode" = "test" ]; then
  apt_packages+=(postgresql-15 postgresql-contrib chromium poppler-utils)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

req=requirements.txt
[ "$mode" = "test" ] && req=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)-$mode"
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  rm -f .venv/.installed-*-"$mode"
  touch "$stamp"
fi
