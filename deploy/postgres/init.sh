#!/bin/bash
# One database and one role per service (each owns its data; none reads another's), and Keycloak's.
# Passwords come from the secret files compose mounts under /run/secrets (docker-compose.yml); none is here.
set -euo pipefail
for name in registration rsd statelessness civil_registry_bridge keycloak; do
  password="$(cat "/run/secrets/${name}_db_password")"
  psql -v ON_ERROR_STOP=1 --username postgres --set=name="$name" --set=password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
