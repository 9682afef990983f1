-- The record of a quarantined database is a security label of provider
-- agentguard on it, which only agentguard writes: SECURITY LABEL on a
-- database is refused to every session, a DBA's too, and agent sessions
-- cannot name a database like agentguard's or change one in quarantine.
-- The quarantined database belongs to the bootstrap superuser until it is
-- restored, with its owner, comment and connection setting.  A forged
-- record (a comment, a name, a label) makes purge_expired drop nothing.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

-- every database of this test as it is: name (OIDs masked), owner,
-- connections, comment, and whether agentguard keeps a record of it
CREATE FUNCTION public.databases() RETURNS TABLE (name text, owner text, connections boolean, comment text, record boolean)
LANGUAGE sql AS $$
    SELECT regexp_replace(d.datname, '^agentguard_q\d+_', 'agentguard_q<oid>_'), masked(pg_get_userbyid(d.datdba)),
           d.datallowconn,
           regexp_replace(shobj_description(d.oid, 'pg_database'), '^\{"agentguard": 1, "original": "(\w+)".*$',
                          'a record of 1.0 for \1'),
           EXISTS (SELECT FROM pg_shseclabel l WHERE l.objoid = d.oid AND l.classoid = 'pg_database'::regclass
                   AND l.provider = 'agentguard')
    FROM pg_database d WHERE d.datname ~ '(botdb|ag_real_db|ag_other_db|ag_old_db|ag_forged_db|ag_gone_db|ag_bad_db)'
    ORDER BY 1
$$;
-- a refusal, with the OID in a quarantined database's name masked
CREATE FUNCTION public.tried(stmt text) RETURNS text LANGUAGE sql AS
$$ SELECT regexp_replace(try(stmt), 'agentguard_q\d+_', 'agentguard_q<oid>_', 'g') $$;
CREATE FUNCTION public.databases_print() RETURNS text LANGUAGE sql AS
$$ SELECT md5(string_agg(d::text, ',')) FROM databases() d $$;
-- a record as agentguard 1.0 wrote it in a comment, expired a day ago
CREATE FUNCTION public.old_record(original text) RETURNS text LANGUAGE sql AS $$
    SELECT '{"agentguard": 1, "original": ' || to_json(original)::text ||
           ', "dropped_by": "ag_agent", "allow_connections": true, "comment": "old comment", ' ||
           '"statement": "DROP DATABASE ' || original || '", "dropped_at": ' ||
           to_json(now() - interval '8 days')::text || ', "expires_at": ' || to_json(now() - interval '1 day')::text || '}'
$$;

ALTER ROLE ag_agent CREATEDB;
SET SESSION AUTHORIZATION ag_agent;
CREATE DATABASE botdb;
RESET SESSION AUTHORIZATION;
CREATE TABLE records_before AS SELECT databases_print() AS print;

-- the reported attack: the agent's own database, renamed like a quarantined
-- one and commented with an expired record
SET SESSION AUTHORIZATION ag_agent;
SELECT try('ALTER DATABASE botdb RENAME TO agentguard_q7_botdb');
SELECT try($$COMMENT ON DATABASE botdb IS '$$ || old_record('botdb') || $$'$$);
-- a record written as a label, and a database made under such a name
SELECT try($$SECURITY LABEL FOR agentguard ON DATABASE botdb IS '$$ || old_record('botdb') || $$'$$);
SELECT try('CREATE DATABASE agentguard_q8_botdb');
SELECT try('CREATE DATABASE agentguardian');
RESET SESSION AUTHORIZATION;
-- a superuser agent cannot either
SET SESSION AUTHORIZATION ag_super;
SELECT try('ALTER DATABASE botdb RENAME TO agentguard_q7_botdb');
SELECT try($$SECURITY LABEL FOR agentguard ON DATABASE botdb IS '$$ || old_record('botdb') || $$'$$);
RESET SESSION AUTHORIZATION;
-- nor a DBA: only agentguard writes a record
SELECT try($$SECURITY LABEL FOR agentguard ON DATABASE botdb IS '$$ || old_record('botdb') || $$'$$);
-- a comment, even under a name like agentguard's (a DBA may rename it so),
-- is no record: the DBA's purge_expired drops nothing
ALTER DATABASE botdb RENAME TO agentguard_q7_botdb;
SELECT * FROM databases();
SELECT count(*) AS listed FROM agentguard.quarantine WHERE kind = 'database';
SELECT agentguard.purge_expired() AS purged;
SELECT count(*) AS botdb_still_there FROM pg_database WHERE datname = 'agentguard_q7_botdb';
ALTER DATABASE agentguard_q7_botdb RENAME TO botdb;
COMMENT ON DATABASE botdb IS NULL;
SELECT databases_print() = print AS nothing_changed FROM records_before;

-- a real quarantine: the agent's database, with a comment and rows
CREATE DATABASE ag_real_db OWNER ag_agent;
COMMENT ON DATABASE ag_real_db IS 'real comment';
\c ag_real_db
CREATE TABLE kept AS SELECT g AS i FROM generate_series(1, 9) g;
\c contrib_regression :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP DATABASE ag_real_db') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP DATABASE ag_real_db;
RESET SESSION AUTHORIZATION;
-- renamed, closed, the bootstrap superuser's, its comment kept in the record
SELECT * FROM databases();
SELECT id AS entry, quarantined_as FROM agentguard.quarantine WHERE kind = 'database' \gset
SELECT kind, original_schema, original_name, masked(dropped_by), expires_at - dropped_at AS kept_for
FROM agentguard.quarantine WHERE id = :entry;
-- anyone may read the list
SET SESSION AUTHORIZATION ag_human;
SELECT count(*) AS listed FROM agentguard.quarantine WHERE kind = 'database';
RESET SESSION AUTHORIZATION;
CREATE TABLE real_before AS SELECT databases_print() AS print;
-- an agent, superuser or not, cannot change it; nor its old owner
SET SESSION AUTHORIZATION ag_agent;
SELECT tried(format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'quarantined_as'));
SELECT tried(format('ALTER DATABASE %I RENAME TO ag_real_db', :'quarantined_as'));
SELECT tried(format('COMMENT ON DATABASE %I IS NULL', :'quarantined_as'));
SELECT tried(format('DROP DATABASE %I', :'quarantined_as'));
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ag_super;
SELECT tried(format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'quarantined_as'));
SELECT tried(format('ALTER DATABASE %I CONNECTION LIMIT 5', :'quarantined_as'));
SELECT tried(format('ALTER DATABASE %I RENAME TO ag_real_db', :'quarantined_as'));
SELECT tried(format('ALTER DATABASE %I OWNER TO ag_super', :'quarantined_as'));
SELECT tried(format('ALTER DATABASE %I SET work_mem = ''1MB''', :'quarantined_as'));
SELECT tried(format('ALTER ROLE ag_super IN DATABASE %I SET work_mem = ''1MB''', :'quarantined_as'));
SELECT tried(format('COMMENT ON DATABASE %I IS %L', :'quarantined_as', old_record('ag_real_db')));
SELECT tried(format('GRANT CONNECT ON DATABASE %I TO ag_super', :'quarantined_as'));
SELECT tried(format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', :'quarantined_as'));
SELECT tried(format('SECURITY LABEL FOR agentguard ON DATABASE %I IS NULL', :'quarantined_as'));
RESET SESSION AUTHORIZATION;
SELECT tried(format('SECURITY LABEL FOR agentguard ON DATABASE %I IS NULL', :'quarantined_as'));
SELECT databases_print() = print AS nothing_changed FROM real_before;
-- restore: under a name of agentguard's it is refused; then its own name,
-- owner, comment, connections and rows
SET SESSION AUTHORIZATION ag_agent;
SELECT agentguard.restore(:entry, 'agentguard_q1_again');
SELECT agentguard.restore(:entry);
RESET SESSION AUTHORIZATION;
SELECT * FROM databases();
\c ag_real_db
SELECT count(*) AS kept_rows FROM kept;
\c contrib_regression :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- a database of a role that is not an agent, closed to connections,
-- quarantined by a DBA's drop: its owner can no longer touch it, and it
-- comes back closed
CREATE DATABASE ag_other_db OWNER ag_human ALLOW_CONNECTIONS false;
SET agentguard.quarantine_drops = 'all';
DROP DATABASE ag_other_db;
RESET agentguard.quarantine_drops;
SELECT id AS entry, quarantined_as FROM agentguard.quarantine WHERE kind = 'database' \gset
SET SESSION AUTHORIZATION ag_human;
SELECT tried(format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'quarantined_as'));
SELECT tried(format('ALTER DATABASE %I RENAME TO ag_other_db', :'quarantined_as'));
\set VERBOSITY sqlstate
DROP DATABASE :"quarantined_as";
\set VERBOSITY terse
SELECT agentguard.restore(:entry);
RESET SESSION AUTHORIZATION;
SELECT * FROM databases() WHERE name LIKE '%ag_other_db';

-- purge and purge_expired still drop quarantined databases
SET agentguard.quarantine_drops = 'all';
DROP DATABASE ag_other_db;
SELECT id AS entry FROM agentguard.quarantine WHERE kind = 'database' \gset
SELECT agentguard.purge(:entry);
SET agentguard.retention = '1 microsecond';
DROP DATABASE ag_real_db;
RESET agentguard.retention;
RESET agentguard.quarantine_drops;
SELECT agentguard.purge_expired() >= 1 AS purged;
SELECT * FROM databases();
SELECT count(*) AS listed FROM agentguard.quarantine WHERE kind = 'database';

-- the update from 1.0 makes the records 1.0 wrote in comments into labels,
-- and only those that look like agentguard's work: named agentguard_q<its
-- own OID>_..., closed to connections
CREATE DATABASE ag_old_db OWNER ag_human;
CREATE DATABASE ag_forged_db OWNER ag_agent;
CREATE DATABASE ag_gone_db OWNER ag_agent;
CREATE DATABASE ag_bad_db OWNER ag_agent ALLOW_CONNECTIONS false;
DO $$
DECLARE
    old oid := (SELECT oid FROM pg_database WHERE datname = 'ag_old_db');
    gone oid := (SELECT oid FROM pg_database WHERE datname = 'ag_gone_db');
    bad oid := (SELECT oid FROM pg_database WHERE datname = 'ag_bad_db');
BEGIN
    -- as 1.0 left a quarantined database
    EXECUTE format('ALTER DATABASE ag_old_db RENAME TO %I', 'agentguard_q' || old || '_ag_old_db');
    EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS false', 'agentguard_q' || old || '_ag_old_db');
    EXECUTE format('COMMENT ON DATABASE %I IS %L', 'agentguard_q' || old || '_ag_old_db', old_record('ag_old_db'));
    -- forged by its owner: another number in its name
    EXECUTE format('ALTER DATABASE ag_forged_db RENAME TO agentguard_q7_ag_forged_db');
    EXECUTE format('ALTER DATABASE agentguard_q7_ag_forged_db ALLOW_CONNECTIONS false');
    EXECUTE format('COMMENT ON DATABASE agentguard_q7_ag_forged_db IS %L', old_record('ag_forged_db'));
    -- forged by its owner: its own number, but open to connections
    EXECUTE format('ALTER DATABASE ag_gone_db RENAME TO %I', 'agentguard_q' || gone || '_ag_gone_db');
    EXECUTE format('COMMENT ON DATABASE %I IS %L', 'agentguard_q' || gone || '_ag_gone_db', old_record('ag_gone_db'));
    -- its own number, closed, but a comment that is no JSON: the update goes on
    EXECUTE format('ALTER DATABASE ag_bad_db RENAME TO %I', 'agentguard_q' || bad || '_ag_bad_db');
    EXECUTE format('COMMENT ON DATABASE %I IS %L', 'agentguard_q' || bad || '_ag_bad_db', '{"agentguard": 1, "original": ');
END $$;
CREATE DATABASE ag_update;
\c ag_update
SET client_min_messages = error;
CREATE EXTENSION agentguard VERSION '1.0';
-- (1.0 lists what any comment says, and fails on one that is no JSON)
SELECT count(*) AS listed_by_1_0 FROM agentguard.quarantine WHERE kind = 'database';
ALTER EXTENSION agentguard UPDATE;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'agentguard';
SELECT original_name, dropped_by, expires_at < now() AS expired FROM agentguard.quarantine WHERE kind = 'database';
-- 1.0 recorded no WAL position; an entry made now has one
SELECT original_name, lsn FROM agentguard.quarantine WHERE kind = 'database';
\c contrib_regression :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT * FROM databases();
-- adopted, it restores with what 1.0 kept: its owner and its comment
SELECT agentguard.restore(id) FROM agentguard.quarantine WHERE kind = 'database';
SELECT * FROM databases();

DROP DATABASE ag_update;
DROP DATABASE ag_old_db;
DROP DATABASE agentguard_q7_ag_forged_db;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I RENAME TO ag_gone_db',
                   (SELECT datname FROM pg_database WHERE datname LIKE 'agentguard_q%_ag_gone_db'));
END $$;
DROP DATABASE ag_gone_db;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I RENAME TO ag_bad_db',
                   (SELECT datname FROM pg_database WHERE datname LIKE 'agentguard_q%_ag_bad_db'));
END $$;
DROP DATABASE ag_bad_db;
DROP DATABASE botdb;
ALTER ROLE ag_agent NOCREATEDB;
SELECT count(*) AS left_over FROM pg_database WHERE datname ~ '(botdb|ag_real_db|ag_other_db|ag_old_db|ag_forged_db|ag_gone_db|ag_bad_db)';
