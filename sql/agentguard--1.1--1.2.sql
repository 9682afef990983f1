-- agentguard 1.1 to 1.2
\echo Use "ALTER EXTENSION agentguard UPDATE TO '1.2'" to load this file. \quit

-- Every entry records the server's WAL insert position just before its
-- statement changed anything, so that point-in-time recovery of a copy can
-- stop right before it (recovery_target_lsn, docs/runbook.md).  Entries made
-- before 1.2 have none.  A quarantined database keeps it in its record.
ALTER TABLE agentguard.quarantine_entries ADD COLUMN lsn pg_catalog.pg_lsn;
CREATE OR REPLACE VIEW agentguard.quarantine AS
    SELECT id, kind, original_schema, original_name, quarantined_as,
           dropped_by, dropped_at, expires_at, lsn
    FROM agentguard.quarantine_entries
    UNION ALL
    SELECT -d.oid::pg_catalog.int8, 'database', NULL,
           r OPERATOR(pg_catalog.->>) 'original', pg_catalog.quote_ident(d.datname::pg_catalog.text),
           r OPERATOR(pg_catalog.->>) 'dropped_by',
           (r OPERATOR(pg_catalog.->>) 'dropped_at')::pg_catalog.timestamptz,
           (r OPERATOR(pg_catalog.->>) 'expires_at')::pg_catalog.timestamptz,
           (r OPERATOR(pg_catalog.->>) 'lsn')::pg_catalog.pg_lsn
    FROM pg_catalog.pg_database d
    JOIN pg_catalog.pg_shseclabel l
      ON l.objoid OPERATOR(pg_catalog.=) d.oid
     AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_database'::pg_catalog.regclass
     AND l.provider OPERATOR(pg_catalog.=) 'agentguard',
    LATERAL (SELECT l.label::pg_catalog.jsonb AS r) j
    ORDER BY 1;
