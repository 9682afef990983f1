-- agentguard 1.0 to 1.1
\echo Use "ALTER EXTENSION agentguard UPDATE TO '1.1'" to load this file. \quit

-- Confirmations are matched by the binding hash of their request (statement,
-- objects and parameters by identity, see src/request.h), which replaces the
-- table OIDs that 1.0 resolved from names when the token was confirmed.
-- Tokens confirmed under 1.0 name requests of version 1, which no statement
-- of 1.1 makes: they can no longer be used (tokens live an hour at most).
ALTER TABLE agentguard.confirmations DROP COLUMN target_relations;
COMMENT ON COLUMN agentguard.confirmations.request_hash IS
    'SHA-256 of the binding part of the request: what a statement must match to use this confirmation';

-- Quarantined databases keep their record in a security label of provider
-- agentguard on the database (pg_shseclabel, shared like the comment 1.0
-- used, but written only by agentguard: its label provider refuses every
-- SECURITY LABEL statement on a database).  Every name is qualified.
CREATE OR REPLACE VIEW agentguard.quarantine AS
    SELECT id, kind, original_schema, original_name, quarantined_as,
           dropped_by, dropped_at, expires_at
    FROM agentguard.quarantine_entries
    UNION ALL
    SELECT -d.oid::pg_catalog.int8, 'database', NULL,
           r OPERATOR(pg_catalog.->>) 'original', pg_catalog.quote_ident(d.datname::pg_catalog.text),
           r OPERATOR(pg_catalog.->>) 'dropped_by',
           (r OPERATOR(pg_catalog.->>) 'dropped_at')::pg_catalog.timestamptz,
           (r OPERATOR(pg_catalog.->>) 'expires_at')::pg_catalog.timestamptz
    FROM pg_catalog.pg_database d
    JOIN pg_catalog.pg_shseclabel l
      ON l.objoid OPERATOR(pg_catalog.=) d.oid
     AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_database'::pg_catalog.regclass
     AND l.provider OPERATOR(pg_catalog.=) 'agentguard',
    LATERAL (SELECT l.label::pg_catalog.jsonb AS r) j
    ORDER BY 1;

-- 1.0 kept that record in the database's comment, which its owner could
-- forge; the records 1.0 wrote become labels (see
-- agentguard_adopt_database_records for which are taken as 1.0's).
CREATE FUNCTION agentguard._adopt_database_records() RETURNS integer
    LANGUAGE C AS 'MODULE_PATHNAME', 'agentguard_adopt_database_records';
SELECT agentguard._adopt_database_records();
DROP FUNCTION agentguard._adopt_database_records();
