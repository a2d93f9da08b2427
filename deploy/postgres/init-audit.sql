-- Baton's audit store, beside Temporal's databases on the same PostgreSQL.
-- Run once, when the data volume is first initialised. The worker applies
-- the schema migrations at start; the tables refuse UPDATE, DELETE and
-- TRUNCATE whatever the role.
CREATE ROLE baton LOGIN PASSWORD 'baton';
CREATE DATABASE baton_audit OWNER baton;
