#!/usr/bin/env bash
# Installs pgvector 0.8.0 into the machine's PostgreSQL 15 from Debian's source package (trixie), because
# bookworm has no binary package and no other network is reachable. Idempotent: does nothing when present.
set -euo pipefail
PGVER="${PGVER:-15}"
if [ -f "/usr/share/postgresql/${PGVER}/extension/vector.control" ]; then
  echo "pgvector: already installed for PostgreSQL ${PGVER}"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial"
echo "deb-src http://deb.debian.org/debian trixie main" > "$work/apt/sources.list"
O=(-o "Dir::Etc::sourcelist=$work/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$work/apt/lists")
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-${PGVER}" make gcc >/dev/null
apt-get "${O[@]}" update -qq
cd "$work"
apt-get "${O[@]}" source --download-only pgvector=0.8.0-1
tar xzf pgvector_0.8.0.orig.tar.gz
cd pgvector-0.8.0
make -j2 >/dev/null
make install >/dev/null
echo "pgvector: installed 0.8.0 for PostgreSQL ${PGVER}"
