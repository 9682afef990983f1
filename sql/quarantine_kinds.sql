-- Quarantine beyond tables: DROP SCHEMA ... CASCADE, TRUNCATE and DROP
-- DATABASE are recoverable too, with contents and dependents compared.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

SELECT setval('agentguard.quarantine_ids', 200);
CREATE SCHEMA app AUTHORIZATION ag_agent;
GRANT USAGE ON SCHEMA app TO ag_human;
SET SESSION AUTHORIZATION ag_agent;
CREATE TYPE app.status AS ENUM ('new', 'paid');
CREATE SEQUENCE app.invoice_no START 1000;
CREATE TABLE app.users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.invoices (
    no int PRIMARY KEY DEFAULT nextval('app.invoice_no'),
    user_id int REFERENCES app.users,
    status app.status NOT NULL DEFAULT 'new',
    total numeric GENERATED ALWAYS AS (42) STORED
);
INSERT INTO app.users (name) SELECT 'user ' || g FROM generate_series(1, 25) g;
INSERT INTO app.invoices (user_id) SELECT 1 + g % 25 FROM generate_series(1, 80) g;
CREATE FUNCTION app.unpaid() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM app.invoices WHERE status = 'new' $$;
CREATE VIEW app.overview AS SELECT u.name, count(i.no) FROM app.users u LEFT JOIN app.invoices i ON i.user_id = u.id GROUP BY u.name;
GRANT SELECT ON app.users TO ag_human;
COMMENT ON SCHEMA app IS 'the application';
RESET SESSION AUTHORIZATION;
-- in another schema: a view over it and a foreign key into it
CREATE TABLE public.app_notes (id int, user_id int REFERENCES app.users);
INSERT INTO public.app_notes VALUES (1, 1), (2, 2);
ALTER TABLE public.app_notes OWNER TO ag_agent;
CREATE VIEW public.app_names AS SELECT name FROM app.users;
GRANT SELECT ON public.app_names TO ag_human;

CREATE FUNCTION public.app_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'users', fingerprint('app.users')
    UNION ALL SELECT 'invoices', fingerprint('app.invoices')
    UNION ALL SELECT 'overview', fingerprint('app.overview')
    UNION ALL SELECT 'notes', fingerprint('public.app_notes')
    UNION ALL SELECT 'names', fingerprint('public.app_names')
    UNION ALL SELECT 'unpaid', app.unpaid()::text
    UNION ALL SELECT 'next invoice', (SELECT last_value::text FROM app.invoice_no)
    UNION ALL SELECT 'schema', n.nspname || ' ' || pg_get_userbyid(n.nspowner) || ' ' || n.nspacl::text || ' ' ||
                               coalesce(obj_description(n.oid, 'pg_namespace'), '-')
        FROM pg_namespace n WHERE n.nspname = 'app'
    UNION ALL SELECT 'objects', string_agg(c.relname || ':' || c.relkind::text || ':' || pg_get_userbyid(c.relowner) ||
                                           ':' || coalesce(c.relacl::text, '-'), ' ' ORDER BY c.relname)
        FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace
    UNION ALL SELECT 'constraints', string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid),
                                               '; ' ORDER BY conrelid::regclass::text, conname)
        FROM pg_constraint WHERE conrelid IN ('app.users'::regclass, 'app.invoices'::regclass, 'public.app_notes'::regclass)
    UNION ALL SELECT 'view', pg_get_viewdef('public.app_names'::regclass)
$$;
CREATE TABLE app_before AS SELECT * FROM app_state();

-- DROP SCHEMA ... CASCADE, confirmed
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP SCHEMA app CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP SCHEMA app CASCADE;
RESET SESSION AUTHORIZATION;
SELECT id AS entry, quarantined_as FROM agentguard.quarantine WHERE kind = 'schema' \gset
SELECT kind, original_schema, original_name, quarantined_as = 'agentguard_q' || :entry || '_app' AS named
FROM agentguard.quarantine WHERE id = :entry;
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
-- gone, to everyone: the schema, the view over it, the foreign key into it
SELECT to_regnamespace('app') AS app, to_regclass('public.app_names') AS names,
       (SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.app_notes'::regclass AND contype = 'f') AS fks;
SET SESSION AUTHORIZATION ag_human;
SELECT count(*) FROM :quarantined_as.users;
RESET SESSION AUTHORIZATION;
-- an agent cannot reach into the kept schema
SET SESSION AUTHORIZATION ag_super;
DROP TABLE :quarantined_as.users;
DELETE FROM :quarantined_as.invoices;
RESET SESSION AUTHORIZATION;
-- the name is free: a framework would make a new one now
CREATE SCHEMA app;
SELECT agentguard.restore(:entry);
DROP SCHEMA app;
SET SESSION AUTHORIZATION ag_agent;
SELECT agentguard.restore(:entry);
RESET SESSION AUTHORIZATION;
SELECT b.item, s.value = b.value AS same FROM app_before b JOIN app_state() s USING (item) ORDER BY b.item;
SET SESSION AUTHORIZATION ag_human;
SELECT count(*) AS human_reads FROM app.users;
RESET SESSION AUTHORIZATION;

-- TRUNCATE, confirmed: the rows are kept, and come back
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('TRUNCATE app.users CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE app.users CASCADE;
SELECT count(*) AS users, (SELECT count(*) FROM app.invoices) AS invoices FROM app.users;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS notes_left FROM public.app_notes;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
-- rows that would clash make the restore fail, and change nothing
INSERT INTO app.users (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'squatter');
SELECT agentguard.restore(:entry);
SELECT agentguard.restore(:entry, 'elsewhere');
DELETE FROM app.users;
SELECT agentguard.restore(:entry);
SELECT b.item, s.value = b.value AS same FROM app_before b JOIN app_state() s USING (item)
WHERE b.item IN ('users', 'invoices', 'notes', 'overview', 'unpaid') ORDER BY b.item;

-- DROP DATABASE, confirmed: renamed and closed; listed from every database
CREATE DATABASE ag_doomed_db;
COMMENT ON DATABASE ag_doomed_db IS 'keep me';
\c ag_doomed_db
CREATE TABLE kept (i int);
INSERT INTO kept SELECT generate_series(1, 7);
\c contrib_regression :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
ALTER DATABASE ag_doomed_db OWNER TO ag_super;
SET SESSION AUTHORIZATION ag_super;
SELECT request_of('DROP DATABASE ag_doomed_db') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT pg_current_wal_insert_lsn() AS lsn_before \gset
DROP DATABASE ag_doomed_db;
RESET SESSION AUTHORIZATION;
SELECT datname LIKE 'agentguard_q%_ag_doomed_db' AS renamed, datallowconn FROM pg_database
WHERE oid = (SELECT -min(id) FROM agentguard.quarantine WHERE kind = 'database');
SELECT id AS entry FROM agentguard.quarantine WHERE kind = 'database' \gset
SELECT kind, original_schema, original_name, masked(dropped_by), expires_at - dropped_at AS kept_for,
       lsn >= :'lsn_before' AND lsn <= pg_current_wal_insert_lsn() AS lsn_before_it
FROM agentguard.quarantine WHERE id = :entry;
\c postgres
SELECT count(*) AS listed_from_postgres FROM pg_database d JOIN pg_shseclabel s ON s.objoid = d.oid
WHERE s.provider = 'agentguard' AND s.label LIKE '%"original": "ag_doomed_db"%';
\c contrib_regression :dba
\set VERBOSITY terse
-- a database is purged only on its own (t/005_runbook.pl purges one), as
-- DROP DATABASE is
BEGIN;
SELECT agentguard.purge(:entry);
ROLLBACK;
SELECT agentguard.restore(:entry);
\c ag_doomed_db
SELECT count(*) AS kept_rows FROM kept;
SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = 'ag_doomed_db';
\c contrib_regression :dba
DROP DATABASE ag_doomed_db;

-- the view lists every kind; purge and purge_expired take them all
SELECT kind, count(*) FROM agentguard.quarantine WHERE id > 200 OR id < 0 GROUP BY kind ORDER BY kind;
SET agentguard.quarantine_drops = 'all';
CREATE SCHEMA short_lived;
CREATE TABLE short_lived.t (i int);
DROP SCHEMA short_lived CASCADE;
CREATE TABLE public.rows_to_go (i int);
INSERT INTO public.rows_to_go VALUES (1);
TRUNCATE public.rows_to_go;
RESET agentguard.quarantine_drops;
SELECT agentguard.purge(id) FROM agentguard.quarantine WHERE original_name IN ('short_lived', 'rows_to_go');
SELECT count(*) AS left_over FROM pg_namespace WHERE nspname LIKE 'agentguard_q%_short_lived';
SELECT count(*) AS left_over FROM pg_class WHERE relname LIKE 'q%_rows_to_go';
