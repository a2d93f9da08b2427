-- Baton's audit store, beside Temporal's databases on the same PostgreSQL.
-- Run once, when the data volume is first initialised. Three roles:
-- baton_owner owns the tables (the audit-migrate job runs worker --migrate
-- with it), baton_writer only appends (the workers), baton_reader only
-- reads (the anchor, starter audit). The passwords are development ones:
-- change them, and the DSNs in docker-compose.yml, for anything real.
CREATE ROLE baton_owner LOGIN PASSWORD 'baton_owner';
CREATE ROLE baton_writer LOGIN PASSWORD 'baton_writer';
CREATE ROLE baton_reader LOGIN PASSWORD 'baton_reader';
CREATE DATABASE baton_audit OWNER baton_owner;
