#!/bin/sh
# First start of the db container only (docker-entrypoint-initdb.d, as the superuser): the two roles of docs/OVERSIGHT.md,
# the database owned by facematch_owner, and the vector extension (creating it needs a superuser).
set -eu
: "${FACEMATCH_OWNER_PASSWORD:?set it in deploy/db.env}"
: "${FACEMATCH_SERVICE_PASSWORD:?set it in deploy/db.env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$FACEMATCH_OWNER_PASSWORD" -v service_pw="$FACEMATCH_SERVICE_PASSWORD" <<'SQL'
CREATE ROLE facematch_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE facematch_service LOGIN PASSWORD :'service_pw';
CREATE DATABASE facematch OWNER facematch_owner;
\c facematch
CREATE EXTENSION IF NOT EXISTS vector;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO facematch_owner;
SQL
