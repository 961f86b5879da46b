#!/bin/bash
# Formats the KRaft log directory once, with a SCRAM-SHA-512 credential for the admin and for each service
# (passwords from the environment: docker-compose.yml), then starts the broker.
set -euo pipefail
config=/etc/pana-kafka/server.properties
scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]")
for user in registration rsd statelessness civil-registry-bridge; do
  var="$(echo "${user}" | tr 'a-z-' 'A-Z_' | sed 's/CIVIL_REGISTRY_BRIDGE/BRIDGE/')_KAFKA_PASSWORD"
  scram+=(--add-scram "SCRAM-SHA-512=[name=${user},password=${!var}]")
done
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "${KAFKA_CLUSTER_ID}" -c "${config}" "${scram[@]}"
# The healthcheck's client settings (tmpfs, not the image).
cat > /tmp/admin.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/run/secrets/kafka_ca
PROPS
exec /opt/kafka/bin/kafka-server-start.sh "${config}"
