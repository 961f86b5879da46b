-- One database per service: each owns its data; none reads another's.
CREATE DATABASE registration;
CREATE DATABASE rsd;
CREATE DATABASE statelessness;
CREATE DATABASE civil_registry_bridge;
