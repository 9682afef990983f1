-- Adversarial: an agent session tries every route we know of to get a
-- destructive statement through without a DBA's signed confirmation, to
-- switch agentguard off, or to damage agentguard's own state.  Every
-- attempt [n] is shown to fail AND to leave things as they were.
--
-- Attempts marked BYPASS got through when this file was written; their
-- expected output is what SHOULD happen (docs/threat-model.md lists them).
-- Where a route has several steps, the steps run through adv.outcome()
-- with their results hidden and only the end state is shown, so that any
-- fix (refusing an earlier step or a later one) passes.
-- "allowed: documented" marks what is allowed on purpose; those are not
-- attempts and are not counted.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set alice_key :builddir '/results/alice.pem'
\set mallory_key :builddir '/results/mallory.pem'
\set sign 'agentguard sign --key ' :alice_key ' --ttl 5m'

---------------------------------------------------------------------------
-- The stage: an agent-owned schema with data, roles, helpers.
---------------------------------------------------------------------------
CREATE SCHEMA adv;
GRANT USAGE ON SCHEMA adv TO PUBLIC;
CREATE SCHEMA adv_data AUTHORIZATION ag_agent;
GRANT USAGE ON SCHEMA adv_data TO PUBLIC;

-- how a statement ends: 'refused' (agentguard's 42501), 'ran', or the
-- server's own error
CREATE FUNCTION adv.outcome(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE state text; msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'ran';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    IF state = '42501' AND msg LIKE 'agentguard:%' THEN
        RETURN 'refused';
    END IF;
    RETURN 'error ' || state || ': ' || msg;
END $$;

-- everything in adv_data: contents, relations, columns, functions, types
CREATE FUNCTION adv.data_state() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r record; s text := '';
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
             WHERE c.relnamespace = 'adv_data'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
             ORDER BY c.relname LOOP
        s := s || r.rel || '=' || fingerprint(r.rel) || E'\n';
    END LOOP;
    s := s || (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || c.relpersistence::text, ' ' ORDER BY c.relname)
               FROM pg_class c WHERE c.relnamespace = 'adv_data'::regnamespace) || E'\n';
    s := s || (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod), ' '
                                 ORDER BY c.relname, a.attnum)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               WHERE c.relnamespace = 'adv_data'::regnamespace AND c.relkind IN ('r', 'p', 'v')
                 AND a.attnum > 0 AND NOT a.attisdropped) || E'\n';
    s := s || coalesce((SELECT string_agg(p.oid::regprocedure::text, ' ' ORDER BY 1)
                        FROM pg_proc p WHERE p.pronamespace = 'adv_data'::regnamespace), '-') || E'\n';
    s := s || coalesce((SELECT string_agg(t.typname, ' ' ORDER BY 1)
                        FROM pg_type t WHERE t.typnamespace = 'adv_data'::regnamespace
                        AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0), '-') || E'\n';
    s := s || (SELECT last_value || ':' || is_called FROM adv_data.invoice_no);
    RETURN s;
END $$;

-- what decides who is an agent and what agentguard does
CREATE FUNCTION adv.guard_state() RETURNS text
LANGUAGE sql AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(r.rolname || '=' || l.label, ' ' ORDER BY r.rolname)
         FROM pg_shseclabel l JOIN pg_roles r ON r.oid = l.objoid WHERE l.provider = 'agentguard'),
        (SELECT string_agg(g.rolname || '>' || m.rolname, ' ' ORDER BY g.rolname, m.rolname)
         FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE g.rolname LIKE 'ag\_%' OR g.rolname LIKE 'adv\_%'),
        (SELECT coalesce(string_agg(coalesce(r.rolname, '*') || '@' || coalesce(d.datname, '*') || '=' || s.setconfig::text, ' '
                                    ORDER BY 1), '-')
         FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
         LEFT JOIN pg_database d ON d.oid = s.setdatabase),
        (SELECT coalesce(string_agg(evtname, ' '), '-') FROM pg_event_trigger),
        (SELECT string_agg(name || CASE WHEN removed_at IS NULL THEN '' ELSE '(removed)' END, ' ' ORDER BY name)
         FROM agentguard.signers),
        (SELECT count(*)::text FROM pg_inherits WHERE inhparent IN
            (SELECT oid FROM pg_class WHERE relnamespace = 'agentguard'::regnamespace)),
        (SELECT string_agg(p.proname || ':' || md5(p.prosrc || p.prosecdef::text || coalesce(p.proconfig::text, '')), ' ' ORDER BY p.proname)
         FROM pg_proc p WHERE p.pronamespace = 'agentguard'::regnamespace),
        (SELECT coalesce(string_agg(c.relname || ':' || coalesce(c.relacl::text, '-'), ' ' ORDER BY c.relname), '-')
         FROM pg_class c WHERE c.relnamespace = 'agentguard'::regnamespace),
        (SELECT string_agg(extname, ' ' ORDER BY extname) FROM pg_extension),
        (SELECT string_agg(lanname, ' ' ORDER BY lanname) FROM pg_language))
$$;
-- quarantine entry numbers and the database's name, masked
CREATE FUNCTION adv.no_ids(t text) RETURNS text
LANGUAGE sql AS $$
    SELECT replace(regexp_replace(regexp_replace(t, 'q\d+_', 'q<id>_', 'g'), 'entry \d+', 'entry <id>', 'g'),
                   current_database(), '<db>')
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA adv TO PUBLIC;

-- the agents' row limit is small here, so small tables show it
ALTER ROLE ag_agent SET agentguard.max_rows = 10;
ALTER ROLE ag_super SET agentguard.max_rows = 10;
-- an untagged role the agent may SET ROLE to
CREATE ROLE adv_owner NOLOGIN;
GRANT adv_owner TO ag_agent;
-- a DBA's table named like one of the agent's
CREATE TABLE adv.scratch(i int);
INSERT INTO adv.scratch VALUES (7);
GRANT ALL ON adv.scratch TO ag_agent;

\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
CREATE TABLE accounts(id int NOT NULL PRIMARY KEY, owner text, balance numeric(12, 2));
INSERT INTO accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 20) g;
CREATE TABLE big(id int PRIMARY KEY, v int);
INSERT INTO big SELECT g, g FROM generate_series(1, 50) g;
CREATE TABLE events(at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT date '2025-01-01' + g, 'e' || g FROM generate_series(1, 30) g;
CREATE TABLE base(id int, v text);
CREATE TABLE heir() INHERITS (base);
INSERT INTO heir SELECT g, 'h' || g FROM generate_series(1, 5) g;
CREATE SEQUENCE invoice_no;
SELECT nextval('invoice_no');
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TYPE reading AS (at timestamp, value numeric(8, 3));
CREATE TABLE readings OF reading;
INSERT INTO readings VALUES ('2026-01-01 12:34:56', 1.234), ('2026-01-02 01:02:03', 5.678);
CREATE DOMAIN positive AS int CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TABLE stock(item text, qty positive, feeling mood);
INSERT INTO stock VALUES ('bolts', 3, 'ok'), ('nuts', 4, 'sad');
CREATE COLLATION plain (provider = libc, locale = 'C');
CREATE TABLE names(id int, name text COLLATE plain);
INSERT INTO names VALUES (1, 'a'), (2, 'b');
CREATE TABLE flags(id int NOT NULL PRIMARY KEY, enabled boolean NOT NULL);
INSERT INTO flags VALUES (1, true), (2, false), (3, true);
CREATE FUNCTION double(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 2 * $1';
CREATE TABLE derived(id int, twice int DEFAULT double(21));
INSERT INTO derived VALUES (1, DEFAULT);
CREATE FUNCTION keep_me() RETURNS int LANGUAGE sql AS 'SELECT 42';
CREATE VIEW rich AS SELECT * FROM accounts WHERE balance > 100;
CREATE VIEW everyone AS SELECT * FROM accounts WHERE true;
CREATE TABLE inbox(id int, body text);
CREATE TABLE scratch(i int);
INSERT INTO scratch VALUES (1);
CREATE TABLE payroll(id int, amount int);
INSERT INTO payroll SELECT g, g * 100 FROM generate_series(1, 20) g;
RESET search_path;

\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE adv.baseline AS SELECT adv.data_state() AS data, adv.guard_state() AS guard;
GRANT SELECT ON adv.baseline TO PUBLIC;
-- one line that says whether anything changed
CREATE VIEW adv.unchanged AS
    SELECT adv.data_state() = data AS data_unchanged, adv.guard_state() = guard AS guard_unchanged
    FROM adv.baseline;
GRANT SELECT ON adv.unchanged TO PUBLIC;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 1. Who the session is: roles, labels, membership, the switch.
---------------------------------------------------------------------------
CREATE FUNCTION adv.definer_truncate() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS
$$ BEGIN TRUNCATE adv_data.accounts; END $$;
ALTER FUNCTION adv.definer_truncate() OWNER TO adv_owner;
CREATE FUNCTION adv.as_owner_truncate() RETURNS void LANGUAGE plpgsql SET role = 'adv_owner' AS
$$ BEGIN TRUNCATE adv_data.accounts; END $$;
GRANT ALL ON SCHEMA adv_data TO adv_owner;
ALTER TABLE adv_data.accounts OWNER TO adv_owner;
-- a function a DBA made, with a SET clause that switches agentguard off
CREATE FUNCTION adv.unguarded_wipe() RETURNS void LANGUAGE plpgsql SET agentguard.mode = 'off' AS
$$ BEGIN DELETE FROM adv_data.big; END $$;

\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [1] SET ROLE to an untagged role
SET ROLE adv_owner;
SELECT current_user, agentguard.is_agent_session();
SELECT try('TRUNCATE adv_data.accounts');
RESET ROLE;
-- [2] a function whose SET clause switches to the untagged role
SELECT try('SELECT adv.as_owner_truncate()');
-- [3] a SECURITY DEFINER function owned by the untagged role
SELECT try('SELECT adv.definer_truncate()');
-- [4] the label cannot be removed or replaced (the server's own wording of
-- the refusal differs between versions, so only its SQLSTATE is shown)
SELECT split_part(try('SECURITY LABEL FOR agentguard ON ROLE ag_agent IS NULL'), ' ', 1) AS refused;
SELECT split_part(try($$SECURITY LABEL ON ROLE ag_agent IS 'trusted'$$), ' ', 1) AS refused;
-- [5] a labelled session turning the switch off stays an agent session
SET agentguard.agent = off;
SELECT agentguard.is_agent_session();
-- [6] settings: SET, set_config, SET LOCAL, a new function's SET clause
SELECT try($$SET agentguard.mode = 'off'$$);
SELECT try($$SELECT set_config('agentguard.mode', 'observe', false)$$);
BEGIN;
SELECT try('SET LOCAL agentguard.max_rows = 0');
ROLLBACK;
SELECT try($$CREATE FUNCTION adv_data.quiet() RETURNS int LANGUAGE sql SET agentguard.mode = 'off' AS 'SELECT 1'$$);
-- [7] a DBA's function whose SET clause switches agentguard off
SELECT try('SELECT adv.unguarded_wipe()');
-- [8] the role's own defaults
SELECT try($$ALTER ROLE ag_agent SET agentguard.mode = 'off'$$);
SELECT try('ALTER ROLE ag_agent RESET agentguard.max_rows');
SELECT try('ALTER ROLE ag_agent RESET ALL');
SHOW agentguard.max_rows;

\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
ALTER TABLE adv_data.accounts OWNER TO ag_agent;
REVOKE ALL ON SCHEMA adv_data FROM adv_owner;
DROP FUNCTION adv.unguarded_wipe(), adv.definer_truncate(), adv.as_owner_truncate();

-- a superuser agent
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [9] SET SESSION AUTHORIZATION to an untagged role, and to a trusted one
SET SESSION AUTHORIZATION ag_human;
SELECT session_user, agentguard.is_agent_session();
SELECT try('DROP TABLE adv_data.accounts');
SET SESSION AUTHORIZATION ag_dba;
SELECT session_user, agentguard.is_agent_session();
SELECT try('TRUNCATE adv_data.accounts');
RESET SESSION AUTHORIZATION;
-- [10] RESET ALL and DISCARD ALL keep the configured values
RESET ALL;
DISCARD ALL;
SHOW agentguard.mode;
SHOW agentguard.max_rows;
-- [11] every agentguard setting, every way a superuser could change it
SELECT try($$SET agentguard.quarantine_drops = 'off'$$);
SELECT try($$SET agentguard.scope = 'agents'$$);
SELECT try($$SELECT set_config('agentguard.max_rows', '0', true)$$);
SELECT try($$ALTER ROLE ag_super IN DATABASE postgres SET agentguard.mode = 'off'$$);
SELECT try($$ALTER ROLE ALL SET agentguard.mode = 'observe'$$);
SELECT try(format('ALTER DATABASE %I SET agentguard.mode = %L', current_database(), 'off'));
SELECT try(format('ALTER DATABASE %I RESET ALL', current_database()));
SELECT try('ALTER ROLE ag_super RESET ALL');
-- [12] ALTER SYSTEM, for agentguard's settings and for what loads it
SELECT try('ALTER SYSTEM RESET ALL');
SELECT try($$ALTER SYSTEM SET shared_preload_libraries = ''$$);
-- [13] LOAD
SELECT try($$LOAD 'plpgsql'$$);
-- [14] labels, the agent's own and its group's
SELECT try($$SECURITY LABEL FOR agentguard ON ROLE ag_super IS 'trusted'$$);
SELECT try('SECURITY LABEL FOR agentguard ON ROLE ag_agent_group IS NULL');
-- [15] signer management
SELECT try($$SELECT agentguard.add_signer('agent', 'agk1.XE0jd7qW2Ia80c_gJj558e3b5UV92xuEPW1lYURtHi0')$$);
SELECT try($$SELECT agentguard.remove_signer('alice')$$);

\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT * FROM adv.unchanged;

-- Leaving the labelled group: these roles are agents only because they
-- belong to ag_agent_group.
CREATE ROLE adv_creator LOGIN CREATEROLE;
CREATE ROLE adv_admin LOGIN;
CREATE ROLE adv_groupsuper LOGIN SUPERUSER;
GRANT ag_agent_group TO adv_creator, adv_groupsuper;
GRANT ag_agent_group TO adv_admin WITH ADMIN OPTION;
\c - adv_creator
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT agentguard.is_agent_session();
-- [16] NOINHERIT: membership still counts
SELECT adv.outcome('ALTER ROLE adv_creator NOINHERIT') AS ignored \gset
SELECT agentguard.is_agent_session();
-- [17] BYPASS: a CREATEROLE agent revokes the labelled group from itself
SELECT adv.outcome('REVOKE ag_agent_group FROM adv_creator');
SELECT agentguard.is_agent_session();
\c - adv_admin
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [18] BYPASS: an agent that holds ADMIN OPTION on the group leaves it
SELECT adv.outcome('REVOKE ag_agent_group FROM adv_admin');
SELECT agentguard.is_agent_session();
\c - adv_groupsuper
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [19] BYPASS: a superuser agent leaves the group (ALTER GROUP ... DROP USER)
SELECT adv.outcome('ALTER GROUP ag_agent_group DROP USER adv_groupsuper');
SELECT agentguard.is_agent_session();
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT string_agg(m.rolname, ' ' ORDER BY m.rolname) AS still_in_group
FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
WHERE am.roleid = 'ag_agent_group'::regrole AND m.rolname LIKE 'adv\_%';
DROP ROLE adv_creator, adv_admin, adv_groupsuper;

-- A human session that turns the switch on
GRANT ALL ON adv_data.inbox TO ag_human;
CREATE FUNCTION adv.empty_inbox() RETURNS bigint LANGUAGE plpgsql AS
$$ DECLARE n bigint; BEGIN DELETE FROM adv_data.inbox; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
\c - ag_human
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET agentguard.agent = on;
-- [20] the switch cannot be turned off, reset or rolled back
SELECT try('SET agentguard.agent = off');
SELECT try($$SELECT set_config('agentguard.agent', 'off', false)$$);
RESET agentguard.agent;
RESET ALL;
DISCARD ALL;
BEGIN;
SET LOCAL agentguard.agent = on;
ROLLBACK;
SELECT agentguard.is_agent_session();
-- (two rows: an unbounded DELETE of one row is allowed)
INSERT INTO adv_data.inbox VALUES (1, 'a'), (2, 'b');
SELECT try('DELETE FROM adv_data.inbox');
\c - ag_human
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [21] BYPASS: a plan cached before the switch went on is never checked for
-- a missing WHERE clause
SELECT adv.empty_inbox();
INSERT INTO adv_data.inbox SELECT g, 'mail ' || g FROM generate_series(1, 5) g;
SET agentguard.agent = on;
SELECT adv.empty_inbox();
SELECT count(*) AS inbox_rows FROM adv_data.inbox;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
DO $$ BEGIN DELETE FROM adv_data.inbox; END $$;
REVOKE ALL ON adv_data.inbox FROM ag_human;
DROP FUNCTION adv.empty_inbox();
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 2. Writing the catalogs that decide who is an agent and what is set.
---------------------------------------------------------------------------
CREATE ROLE adv_agent2 LOGIN;
SECURITY LABEL FOR agentguard ON ROLE adv_agent2 IS 'agent';
CREATE ROLE adv_groupsuper2 LOGIN SUPERUSER IN ROLE ag_agent_group;
CREATE VIEW adv.role_settings AS SELECT * FROM pg_catalog.pg_db_role_setting;
CREATE TABLE adv.guard_before AS SELECT adv.guard_state() AS guard;
GRANT SELECT ON adv.guard_before TO PUBLIC;
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [22] DML on the catalogs: directly, through a view, a CTE and a rule
SELECT try('DELETE FROM pg_catalog.pg_shseclabel');
SELECT try('UPDATE pg_catalog.pg_auth_members SET admin_option = true WHERE false');
SELECT try($$INSERT INTO pg_catalog.pg_db_role_setting VALUES (0, 0, '{agentguard.mode=off}')$$);
SELECT try($$DELETE FROM pg_catalog.pg_class WHERE relname = 'accounts'$$);
SELECT try($$INSERT INTO adv.role_settings VALUES (0, 0, '{agentguard.mode=off}')$$);
SELECT try('WITH x AS (DELETE FROM pg_catalog.pg_shseclabel RETURNING 1) SELECT count(*) FROM x');
BEGIN;
CREATE RULE sneak AS ON INSERT TO adv_data.inbox DO ALSO DELETE FROM pg_catalog.pg_shseclabel;
SELECT try('INSERT INTO adv_data.inbox VALUES (1)');
ROLLBACK;
-- [23] catalog DDL with allow_system_table_mods
SET allow_system_table_mods = on;
SELECT try('TRUNCATE pg_catalog.pg_db_role_setting');
SELECT try('DROP TABLE pg_catalog.pg_shseclabel');
-- [24] BYPASS: ... which also lets a superuser agent rename a catalog
SELECT adv.outcome('ALTER TABLE pg_catalog.pg_db_role_setting RENAME TO adv_renamed');
RESET allow_system_table_mods;
SELECT to_regclass('pg_catalog.pg_db_role_setting') IS NOT NULL AS catalog_keeps_its_name;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
DO $$ BEGIN
    IF to_regclass('pg_catalog.adv_renamed') IS NOT NULL THEN
        SET LOCAL allow_system_table_mods = on;
        ALTER TABLE pg_catalog.adv_renamed RENAME TO pg_db_role_setting;
    END IF;
END $$;
-- [25] BYPASS: COPY ... FROM STDIN into pg_db_role_setting gives an agent
-- role the default agentguard.mode = off
SELECT d.oid, r.oid, '{agentguard.mode=off}'
FROM pg_database d, pg_roles r WHERE d.datname = current_database() AND r.rolname = 'adv_agent2'
\g (format=unaligned tuples_only=on fieldsep='\t') results/adv_setting.tsv
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
\copy pg_catalog.pg_db_role_setting from 'results/adv_setting.tsv'
\c - adv_agent2
\set VERBOSITY terse
\set SHOW_CONTEXT never
SHOW agentguard.mode;
\c - adv_groupsuper2
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [26] BYPASS: COPY ... FROM STDIN into pg_shseclabel gives a group agent
-- a 'trusted' label of its own
SELECT agentguard.is_agent_session();
SELECT oid, 'pg_authid'::regclass::oid, 'agentguard', 'trusted' FROM pg_roles WHERE rolname = current_user
\g (format=unaligned tuples_only=on fieldsep='\t') results/adv_label.tsv
\copy pg_catalog.pg_shseclabel from 'results/adv_label.tsv'
ALTER ROLE adv_groupsuper2 VALID UNTIL 'infinity';
SELECT agentguard.is_agent_session();
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT adv.guard_state() = guard AS guard_unchanged FROM adv.guard_before;
DROP TABLE adv.guard_before;
DROP VIEW adv.role_settings;
DROP ROLE adv_agent2, adv_groupsuper2;

---------------------------------------------------------------------------
-- 3. Reaching outside: files, code, other sessions.
---------------------------------------------------------------------------
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [27] COPY to and from server files and programs
SELECT try($$COPY adv_data.accounts TO 'adv_accounts.csv'$$);
SELECT try($$COPY adv_data.accounts FROM '/dev/null'$$);
SELECT try($$COPY adv_data.accounts FROM PROGRAM 'true'$$);
SELECT try($$COPY (SELECT 'agentguard.mode = off') TO PROGRAM 'cat >> postgresql.auto.conf'$$);
-- [28] BYPASS: lo_export writes a server file (postgresql.auto.conf is one)
SELECT lo_from_bytea(0, convert_to('agentguard.mode = off', 'UTF8')) AS lo \gset
SELECT adv.outcome(format('SELECT lo_export(%s, %L)', :lo, 'adv_lo_export.conf')) AS ignored \gset
-- [29] BYPASS: ... and so does lo_export under another name
SELECT adv.outcome($$CREATE FUNCTION adv.export_as(oid, text) RETURNS integer LANGUAGE internal AS 'be_lo_export'$$) AS ignored \gset
SELECT adv.outcome(format('SELECT adv.export_as(%s, %L)', :lo, 'adv_export_as.conf')) AS ignored \gset
-- [30] BYPASS: CREATE FUNCTION ... LANGUAGE C loads a library, as LOAD would
SELECT adv.outcome($$CREATE FUNCTION adv.loaded() RETURNS language_handler LANGUAGE C AS '$libdir/plpgsql', 'plpgsql_call_handler'$$);
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT (pg_stat_file('adv_lo_export.conf', true)).size IS NULL AS no_file_written,
       (pg_stat_file('adv_export_as.conf', true)).size IS NULL AS no_file_written_as;
SELECT lo_unlink(:lo);
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS adv.export_as(oid, text), adv.loaded();
RESET client_min_messages;

-- [31] BYPASS: an event trigger a superuser agent leaves behind drops a
-- table from the next DBA's session, where nothing guards it
CREATE TABLE adv.dba_table(i int);
INSERT INTO adv.dba_table VALUES (1), (2);
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE FUNCTION adv.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF tg_tag = 'CREATE TABLE' THEN
        EXECUTE 'DROP TABLE IF EXISTS adv.dba_table';
    END IF;
END $$;
SELECT adv.outcome('CREATE EVENT TRIGGER adv_on_ddl ON ddl_command_end EXECUTE FUNCTION adv.on_ddl()') AS ignored \gset
-- in the agent's own session the DROP it makes is refused
SELECT adv.outcome('CREATE TABLE adv.fires_it(i int)') AS ignored \gset
SELECT to_regclass('adv.dba_table') IS NOT NULL AS dba_table_kept;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE adv.dba_work(i int);
SELECT to_regclass('adv.dba_table') IS NOT NULL AS dba_table_kept;
SET client_min_messages = warning;
DROP EVENT TRIGGER IF EXISTS adv_on_ddl;
DROP TABLE IF EXISTS adv.dba_table, adv.dba_work, adv.fires_it;
DROP FUNCTION adv.on_ddl();
RESET client_min_messages;

---------------------------------------------------------------------------
-- 4. agentguard's own state.
---------------------------------------------------------------------------
CREATE TABLE adv.ledger_before AS
SELECT obj_description('agentguard.audit'::regclass) AS audit_comment,
       (SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = 'agentguard'::regnamespace) AS default_acls;
GRANT SELECT ON adv.ledger_before TO PUBLIC;
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [32] writes to its tables by other routes: MERGE, a view, a CTE
SELECT try($$MERGE INTO agentguard.signers s USING (SELECT 'alice' AS name) x ON s.name = x.name WHEN MATCHED THEN UPDATE SET removed_at = now()$$);
BEGIN;
CREATE VIEW adv.signers_view AS SELECT * FROM agentguard.signers;
SELECT try($$INSERT INTO adv.signers_view (name, public_key, key_id) VALUES ('agent', 'agk1.x', '\x00')$$);
ROLLBACK;
SELECT try('WITH x AS (UPDATE agentguard.confirmations SET used_at = NULL WHERE used_at IS NOT NULL RETURNING 1) SELECT count(*) FROM x');
SELECT try('INSERT INTO agentguard.audit (event, by_role) SELECT event, by_role FROM agentguard.audit LIMIT 1');
-- [33] replacing or changing its functions
SELECT try('CREATE OR REPLACE FUNCTION agentguard.is_agent_session() RETURNS boolean LANGUAGE sql AS ''SELECT false''');
SELECT try('ALTER FUNCTION agentguard.add_signer(text, text) SECURITY DEFINER');
SELECT try('ALTER FUNCTION agentguard.confirm(text) SET search_path = adv');
-- [34] grants on its objects
SELECT try('GRANT EXECUTE ON FUNCTION agentguard.purge(bigint) TO ag_agent');
SELECT try('GRANT INSERT ON agentguard.confirmations TO ag_agent');
SELECT try('REVOKE SELECT ON agentguard.quarantine FROM PUBLIC');
-- [35] the extension and its schemas
SELECT try('DROP EXTENSION IF EXISTS no_such_extension, agentguard');
SELECT try('ALTER EXTENSION agentguard DROP TABLE agentguard.audit');
SELECT try('DROP SCHEMA agentguard_quarantine CASCADE');
-- [36] BYPASS: inheriting from its tables: forged rows show up in
-- agentguard.audit, and a forged confirmation row replays a used token
CREATE TABLE adv.replayed(i int);
INSERT INTO adv.replayed SELECT generate_series(1, 3);
SELECT request_of('TRUNCATE adv.replayed') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE adv.replayed;
INSERT INTO adv.replayed SELECT generate_series(1, 3);
SELECT try('TRUNCATE adv.replayed');
SELECT adv.outcome('CREATE TABLE adv.forged_audit () INHERITS (agentguard.audit)') AS ignored \gset
SELECT adv.outcome($$INSERT INTO adv.forged_audit (id, event, by_role) VALUES (-1, 'add_signer', 'alice')$$) AS ignored \gset
CREATE TABLE adv.forged (LIKE agentguard.confirmations);
SELECT adv.outcome('ALTER TABLE adv.forged INHERIT agentguard.confirmations') AS ignored \gset
INSERT INTO adv.forged SELECT nonce, request_hash, request, token, role, action, objects, signer,
    issued_at, expires_at + interval '1 day', confirmed_at, confirmed_by, NULL, NULL
FROM agentguard.confirmations WHERE token = :'token';
SELECT adv.outcome('TRUNCATE adv.replayed') AS ignored \gset
SELECT count(*) AS replayed_rows FROM adv.replayed;
SELECT count(*) = (SELECT count(*) FROM ONLY agentguard.audit) AS audit_has_only_its_own_rows FROM agentguard.audit;
-- [37] BYPASS: replacing a pg_catalog function that agentguard's own SQL
-- calls (clock_timestamp) makes an expired confirmation usable
CREATE TABLE adv.clocked(i int);
INSERT INTO adv.clocked SELECT generate_series(1, 3);
SELECT request_of('TRUNCATE adv.clocked') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 2s :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT pg_sleep(2.5);
SELECT try('TRUNCATE adv.clocked');
BEGIN;
SELECT adv.outcome($$CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS 'SELECT ''2000-01-01''::timestamptz'$$) AS ignored \gset
SELECT adv.outcome('TRUNCATE adv.clocked') AS ignored \gset
SELECT count(*) AS clocked_rows FROM adv.clocked;
ROLLBACK;
-- [38] BYPASS: setval, COMMENT and default privileges change its objects
SELECT last_value AS q_last, is_called AS q_called FROM agentguard.quarantine_ids \gset
SELECT adv.outcome($$SELECT setval('agentguard.quarantine_ids', 424242)$$) AS ignored \gset
SELECT adv.outcome($$COMMENT ON TABLE agentguard.audit IS 'nothing to see'$$) AS ignored \gset
SELECT adv.outcome(format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA agentguard GRANT ALL ON TABLES TO ag_agent', :'dba')) AS ignored \gset
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT (SELECT last_value FROM agentguard.quarantine_ids) <> 424242 AS quarantine_ids_unchanged,
       b.audit_comment IS NOT DISTINCT FROM obj_description('agentguard.audit'::regclass) AS comment_unchanged,
       b.default_acls = (SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = 'agentguard'::regnamespace) AS default_acls_unchanged
FROM adv.ledger_before b;
SET client_min_messages = warning;
DO $$ BEGIN
    COMMENT ON TABLE agentguard.audit IS NULL;
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA agentguard REVOKE ALL ON TABLES FROM ag_agent', current_user);
    DROP TABLE IF EXISTS adv.forged, adv.forged_audit;
END $$;
RESET client_min_messages;
SELECT setval('agentguard.quarantine_ids', :q_last, :'q_called') AS ignored \gset
DROP TABLE adv.replayed, adv.clocked, adv.ledger_before;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 5. The quarantine.
---------------------------------------------------------------------------
CREATE SCHEMA adv_q AUTHORIZATION ag_agent;
CREATE TABLE adv_q.kept(id int, v text);
INSERT INTO adv_q.kept SELECT g, 'k' || g FROM generate_series(1, 5) g;
ALTER TABLE adv_q.kept OWNER TO ag_agent;
CREATE TABLE adv.kept_before AS SELECT fingerprint('adv_q.kept') AS f;
GRANT SELECT ON adv.kept_before TO PUBLIC;
SET agentguard.quarantine_drops = 'all';
DROP TABLE adv_q.kept;
RESET agentguard.quarantine_drops;
SELECT id AS qid, quarantined_as AS qname FROM agentguard.quarantine WHERE original_schema = 'adv_q' \gset
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [39] the quarantined table itself; the quarantine schema is closed to
-- non-superusers, and a superuser agent is refused
SELECT try(format('DROP TABLE %s', :'qname'));
SELECT try(format('DELETE FROM %s WHERE true', :'qname'));
-- [40] purging it without a confirmation
SELECT adv.no_ids(try(format('SELECT agentguard.purge(%s)', :qid))) AS try;
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT try(format('DROP TABLE %s', :'qname'));
SELECT try(format('TRUNCATE %s', :'qname'));
SELECT try(format('DELETE FROM %s WHERE true', :'qname'));
SELECT try(format('ALTER TABLE %s SET SCHEMA adv_q', :'qname'));
SELECT try(format('ALTER TABLE %s RENAME TO stolen', :'qname'));
SELECT adv.no_ids(try(format('SELECT agentguard.purge(%s)', :qid))) AS try;
SELECT try('SELECT agentguard.purge_expired()');
SELECT try(format('DELETE FROM agentguard.quarantine_entries WHERE id = %s', :qid));
-- [41] restoring over a table that took its name changes nothing
BEGIN;
CREATE TABLE adv_q.kept(other int);
SELECT adv.no_ids(try(format('SELECT agentguard.restore(%s)', :qid))) AS try;
DROP TABLE adv_q.kept;
COMMIT;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- allowed: documented: restoring destroys nothing, and puts it back as it was
SELECT agentguard.restore(:qid);
SELECT fingerprint('adv_q.kept') = f AS kept_as_it_was FROM adv.kept_before;

-- [42] BYPASS: agentguard.restore runs the agent's own code (here in a
-- partition key) as the extension's owner, with agentguard looking away:
-- it truncates a table the agent may not even read, and adds a signer
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE adv.dba_secret(i int);
INSERT INTO adv.dba_secret SELECT generate_series(1, 5);
CREATE TABLE adv.secret_before AS
SELECT fingerprint('adv.dba_secret') AS f, (SELECT count(*) FROM agentguard.signers) AS signers;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE adv_q.armed(yes boolean);
CREATE FUNCTION adv_q.payload() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'TRUNCATE adv.dba_secret';
    EXECUTE $sql$INSERT INTO agentguard.signers (name, public_key, key_id)
                 VALUES ('adv_evil', 'agk1.x', '\x01') ON CONFLICT DO NOTHING$sql$;
END $$;
CREATE FUNCTION adv_q.bucket(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF EXISTS (SELECT FROM adv_q.armed) THEN
        PERFORM adv_q.payload();
    END IF;
    RETURN i;
END $$;
CREATE TABLE adv_q.parts(i int) PARTITION BY RANGE (adv_q.bucket(i));
CREATE TABLE adv_q.parts_1 PARTITION OF adv_q.parts FOR VALUES FROM (0) TO (100);
INSERT INTO adv_q.parts VALUES (1);
-- a DBA approves dropping one partition
SELECT request_of('DROP TABLE adv_q.parts_1') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE adv_q.parts_1;
SELECT id AS pid FROM agentguard.quarantine WHERE original_name = 'parts_1' \gset
INSERT INTO adv_q.armed VALUES (true);
SELECT adv.outcome(format('SELECT agentguard.restore(%s)', :pid)) AS ignored \gset
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT fingerprint('adv.dba_secret') = f AS secret_unchanged,
       (SELECT count(*) FROM agentguard.signers) = signers AS signers_unchanged
FROM adv.secret_before;
DO $$ BEGIN
    DELETE FROM agentguard.signers WHERE name = 'adv_evil';
    DELETE FROM adv_q.armed;
END $$;
DROP TABLE adv.dba_secret, adv.secret_before, adv.kept_before;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 6. DDL that destroys under another name.
---------------------------------------------------------------------------
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
-- [43] rename, recreate under the old name, drop the renamed one
BEGIN;
ALTER TABLE accounts RENAME TO accounts_old;
CREATE TABLE accounts(id int);
DROP TABLE accounts_old CASCADE;
ROLLBACK;
-- [44] move into a new schema, drop the schema
BEGIN;
CREATE SCHEMA adv_trap;
ALTER TABLE payroll SET SCHEMA adv_trap;
DROP SCHEMA adv_trap CASCADE;
ROLLBACK;
-- [45] BYPASS: ... the same with a function
BEGIN;
CREATE SCHEMA adv_trap;
ALTER FUNCTION keep_me() SET SCHEMA adv_trap;
SET LOCAL client_min_messages = warning;
SELECT adv.outcome('DROP SCHEMA adv_trap CASCADE') AS ignored \gset
SELECT count(*) AS function_kept FROM pg_proc WHERE proname = 'keep_me';
ROLLBACK;
-- [46] BYPASS: ... and a sequence, made "owned" by a new table
BEGIN;
CREATE TABLE seq_owner(i int);
ALTER SEQUENCE invoice_no OWNED BY seq_owner.i;
SELECT adv.outcome('DROP TABLE adv_data.seq_owner') AS ignored \gset
SELECT to_regclass('adv_data.invoice_no') IS NOT NULL AS sequence_kept;
ROLLBACK;
-- [47] detach a partition, then drop it
BEGIN;
ALTER TABLE events DETACH PARTITION events_2025;
DROP TABLE events_2025;
ROLLBACK;
-- [48] a new parent adopts an old table, then goes (DROP, TRUNCATE)
BEGIN;
CREATE TABLE adopter(id int, amount int);
ALTER TABLE payroll INHERIT adopter;
DROP TABLE adopter CASCADE;
ROLLBACK;
BEGIN;
CREATE TABLE adopter(id int, amount int) PARTITION BY RANGE (id);
ALTER TABLE adopter ATTACH PARTITION payroll FOR VALUES FROM (0) TO (1000);
TRUNCATE adopter;
ROLLBACK;
-- [49] an inheritance parent, with CASCADE
DROP TABLE base CASCADE;
-- [50] DROP TYPE, DOMAIN, FUNCTION, COLLATION, OPERATOR ... CASCADE
DROP TYPE mood CASCADE;
DROP DOMAIN positive CASCADE;
DROP FUNCTION double(int) CASCADE;
DROP COLLATION plain CASCADE;
BEGIN;
CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
CREATE OR REPLACE VIEW rich AS SELECT * FROM accounts WHERE balance > 100 AND id === id;
DROP OPERATOR === (int, int) CASCADE;
ROLLBACK;
-- [51] ALTER TYPE on a typed table: dropping an attribute drops a column
ALTER TYPE reading DROP ATTRIBUTE value CASCADE;
-- [52] BYPASS: ... and changing an attribute's type rewrites the column,
-- losing the time of day and the decimals
SELECT fingerprint('readings') AS readings_before \gset
BEGIN;
SELECT adv.outcome('ALTER TYPE adv_data.reading ALTER ATTRIBUTE at TYPE date CASCADE') AS ignored \gset
SELECT adv.outcome('ALTER TYPE adv_data.reading ALTER ATTRIBUTE value TYPE int CASCADE') AS ignored \gset
SELECT fingerprint('readings') = :'readings_before' AS readings_unchanged;
ROLLBACK;
-- [53] BYPASS: DROP EXTENSION ... CASCADE of an extension the agent made
-- takes a DBA's function with it
RESET search_path;
CREATE SCHEMA adv_ext;
CREATE EXTENSION hstore SCHEMA adv_ext;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE FUNCTION adv.dba_uses_hstore(adv_ext.hstore) RETURNS int LANGUAGE sql AS 'SELECT 1';
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT adv.outcome('DROP EXTENSION hstore CASCADE') AS ignored \gset
SELECT count(*) AS dba_function_kept FROM pg_proc WHERE proname = 'dba_uses_hstore';
ROLLBACK;
-- [54] the public schema, an index, a column's type
SELECT try('DROP SCHEMA public CASCADE');
SELECT try('DROP INDEX adv_data.accounts_pkey');
SELECT try('ALTER TABLE adv_data.accounts ALTER COLUMN balance TYPE int');
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
DROP FUNCTION adv.dba_uses_hstore(adv_ext.hstore);
DROP EXTENSION hstore;
DROP SCHEMA adv_ext;
-- [55] BYPASS: DROP LANGUAGE ... CASCADE drops every function in it
CREATE LANGUAGE adv_plpgsql HANDLER plpgsql_call_handler;
CREATE FUNCTION adv.written_in_it() RETURNS int LANGUAGE adv_plpgsql AS $$ BEGIN RETURN 1; END $$;
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT adv.outcome('DROP LANGUAGE adv_plpgsql CASCADE') AS ignored \gset
SELECT to_regprocedure('adv.written_in_it()') IS NOT NULL AS function_kept;
ROLLBACK;
-- [56] DROP OWNED; REASSIGN OWNED, then drop as the new owner; DROP ROLE;
-- DROP DATABASE
SELECT try('DROP OWNED BY ag_agent');
BEGIN;
SELECT try('REASSIGN OWNED BY ag_agent TO adv_owner');
SET ROLE adv_owner;
SELECT try('DROP TABLE adv_data.accounts');
ROLLBACK;
SELECT try('DROP ROLE ag_dba');
SELECT adv.no_ids(try(format('DROP DATABASE %I', current_database()))) AS try;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
DROP FUNCTION adv.written_in_it();
DROP LANGUAGE adv_plpgsql;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 7. DELETE, UPDATE, MERGE: unbounded, or past the row limit.
---------------------------------------------------------------------------
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
SHOW agentguard.max_rows;
-- [57] always-true WHERE clauses the rule knows
SELECT try('DELETE FROM accounts WHERE id = id');
SELECT try('DELETE FROM accounts WHERE 1 = 1');
SELECT try('DELETE FROM accounts WHERE true OR id = 1');
-- [58] dynamic SQL built with format()
DO $$ BEGIN EXECUTE format('DELETE FROM %I.%I', 'adv_data', 'accounts'); END $$;
-- [59] a data-modifying CTE, MERGE ... ON true, an updatable view defined
-- WHERE true, USING a big table, UPDATE through a join without condition
SELECT try('WITH gone AS (DELETE FROM accounts RETURNING *) SELECT count(*) FROM gone');
SELECT try('MERGE INTO accounts a USING (SELECT id FROM big LIMIT 1) b ON true WHEN MATCHED THEN DELETE');
SELECT try('DELETE FROM everyone');
SELECT try('DELETE FROM accounts USING big WHERE true');
SELECT try('UPDATE accounts SET balance = 0 FROM big');
-- [60] EXPLAIN ANALYZE, COPY (DELETE ... RETURNING), CREATE TABLE AS
SELECT try('EXPLAIN ANALYZE DELETE FROM accounts');
COPY (DELETE FROM accounts RETURNING id) TO STDOUT;
SELECT try('CREATE TABLE adv_data.copied AS WITH d AS (DELETE FROM adv_data.accounts RETURNING *) SELECT * FROM d');
-- [61] a rule, a trigger and an INSTEAD OF trigger that do it for us
BEGIN;
CREATE RULE wipe AS ON INSERT TO inbox DO INSTEAD DELETE FROM accounts;
SELECT try('INSERT INTO inbox VALUES (1)');
ROLLBACK;
BEGIN;
CREATE FUNCTION truncate_accounts() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN TRUNCATE adv_data.accounts; RETURN NEW; END $$;
CREATE TRIGGER truncate_accounts AFTER INSERT ON inbox FOR EACH STATEMENT EXECUTE FUNCTION truncate_accounts();
SELECT try('INSERT INTO inbox VALUES (1)');
ROLLBACK;
BEGIN;
CREATE VIEW accounts_view AS SELECT * FROM accounts;
CREATE FUNCTION delete_accounts() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM adv_data.accounts WHERE id >= OLD.id; RETURN OLD; END $$;
CREATE TRIGGER delete_accounts INSTEAD OF DELETE ON accounts_view FOR EACH ROW EXECUTE FUNCTION delete_accounts();
SELECT try('DELETE FROM accounts_view WHERE id = 1');
ROLLBACK;
-- [62] TRUNCATE of a view; prepared statements: TRUNCATE cannot be
-- prepared, DELETE can
SELECT try('TRUNCATE everyone');
PREPARE wipe AS TRUNCATE accounts;
PREPARE wipe(int) AS DELETE FROM accounts WHERE id > $1 OR true;
EXECUTE wipe(0);
DEALLOCATE wipe;
-- [63] past the row limit through a cascade the agent sets up
BEGIN;
CREATE TABLE account_notes(account_id int REFERENCES accounts ON DELETE CASCADE, note text);
INSERT INTO account_notes SELECT id, 'note' FROM accounts;
SELECT try('DELETE FROM accounts WHERE id <= 6');
ROLLBACK;
-- Below, tables smaller than the row limit: only the rule against
-- unbounded statements can stop these.
-- [64] BYPASS: WHERE clauses that never look at the row hold for all rows
-- or for none
BEGIN;
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE now() IS NOT NULL');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE (SELECT true)');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE EXISTS (SELECT 1)');
SELECT adv.outcome('UPDATE adv_data.flags SET enabled = false WHERE random() < 2');
SELECT adv.outcome('MERGE INTO adv_data.flags f USING (SELECT 1) s ON now() IS NOT NULL WHEN MATCHED THEN DELETE');
ROLLBACK;
-- [65] BYPASS: ... and a parameter that is true
PREPARE wipe_if(boolean) AS DELETE FROM flags WHERE $1;
BEGIN;
SELECT adv.outcome('EXECUTE wipe_if(true)');
ROLLBACK;
DEALLOCATE wipe_if;
-- [66] BYPASS: always-true forms the rule does not know
BEGIN;
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE (id = id) IS TRUE');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE NOT (id <> id)');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE ctid = ctid');
SELECT adv.outcome('UPDATE adv_data.flags SET enabled = false WHERE tableoid = tableoid');
ROLLBACK;
-- [67] BYPASS: INSERT ... ON CONFLICT DO UPDATE overwrites every row, and
-- is not counted
BEGIN;
SELECT adv.outcome('INSERT INTO adv_data.big SELECT id, 0 FROM adv_data.big ON CONFLICT (id) DO UPDATE SET v = 0');
ROLLBACK;
-- [68] BYPASS: rows that deferred triggers delete are not counted against
-- the statement that caused them
CREATE TABLE doomed(id int);
INSERT INTO doomed SELECT generate_series(1, 5);
CREATE FUNCTION delete_four() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM adv_data.payroll WHERE id > (OLD.id - 1) * 4 AND id <= OLD.id * 4; RETURN OLD; END $$;
BEGIN;
CREATE TRIGGER delete_four AFTER DELETE ON doomed FOR EACH ROW EXECUTE FUNCTION delete_four();
SELECT try('DELETE FROM doomed WHERE id <= 5');
ROLLBACK;
CREATE CONSTRAINT TRIGGER delete_four AFTER DELETE ON doomed
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION delete_four();
BEGIN;
DELETE FROM doomed WHERE id <= 5;
COMMIT;
RESET search_path;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT count(*) AS payroll_rows FROM adv_data.payroll;
DO $$ BEGIN
    DELETE FROM adv_data.payroll;
    INSERT INTO adv_data.payroll SELECT g, g * 100 FROM generate_series(1, 20) g;
    DELETE FROM adv_data.accounts;
    INSERT INTO adv_data.accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 20) g;
    UPDATE adv_data.big SET v = id;
    DROP TABLE adv_data.doomed;
    DROP FUNCTION adv_data.delete_four();
END $$;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 8. Tokens: forged, tampered, misdirected, reused.
---------------------------------------------------------------------------
CREATE FUNCTION adv.b64url_decode(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT decode(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4), 'base64') $$;
CREATE FUNCTION adv.b64url_encode(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT rtrim(translate(replace(encode(b, 'base64'), E'\n', ''), '+/', '-_'), '=') $$;
-- a request code with one part replaced: the cluster, or the environment,
-- database or role (the layout is in src/request.h)
CREATE FUNCTION adv.tamper(code text, part text, value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    body bytea := adv.b64url_decode(substr(code, 6));
    pos int := 9;
    len int;
    parts text[] := ARRAY['environment', 'database', 'role'];
BEGIN
    IF part = 'cluster' THEN
        RETURN 'agr1.' || adv.b64url_encode(overlay(body PLACING '\x0102030405060708'::bytea FROM 2 FOR 8));
    END IF;
    FOR i IN 1 .. 3 LOOP
        len := get_byte(body, pos) * 256 + get_byte(body, pos + 1);
        IF parts[i] = part THEN
            RETURN 'agr1.' || adv.b64url_encode(substr(body, 1, pos)
                || int2send(octet_length(convert_to(value, 'UTF8'))::int2)
                || convert_to(value, 'UTF8') || substr(body, pos + 3 + len));
        END IF;
        pos := pos + 2 + len;
    END LOOP;
    RAISE EXCEPTION 'no part %', part;
END $$;
-- the same token with one character of its signature changed
CREATE FUNCTION adv.bad_signature(token text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT overlay(token PLACING CASE WHEN substr(token, length(token) - 40, 1) = 'A' THEN 'B' ELSE 'A' END
                  FROM length(token) - 40 FOR 1) $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA adv TO PUBLIC;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
SELECT request_of('TRUNCATE scratch') AS code \gset
\set token `:sign :'code' 2>/dev/null`
-- [69] random bytes, not a token, one of absurd length, a cut one
SELECT try($$SELECT agentguard.confirm('agt1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$);
SELECT try($$SELECT agentguard.confirm('not a token at all')$$);
SELECT try($$SELECT agentguard.confirm('agt1.' || repeat('A', 200000))$$);
SELECT try(format('SELECT agentguard.confirm(%L)', left(:'token', 5 + (length(:'token') - 25) / 4 * 4)));
-- [70] a token whose signature was changed
SELECT try(format('SELECT agentguard.confirm(%L)', adv.bad_signature(:'token')));
-- [71] a token whose request was changed after signing (its role)
SELECT try(format('SELECT agentguard.confirm(%L)',
    'agt1.' || adv.b64url_encode(overlay(adv.b64url_decode(substr(:'token', 6))
        PLACING convert_to('ag_agenX', 'UTF8')
        FROM position(convert_to('ag_agent', 'UTF8') IN adv.b64url_decode(substr(:'token', 6)))))));
-- [72] a token signed by a key the database does not trust
\set other `agentguard sign --key :'mallory_key' --ttl 5m :'code' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
-- [73] signed tokens for another cluster, environment and database
SELECT adv.tamper(:'code', 'cluster', '') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
SELECT adv.tamper(:'code', 'environment', 'production') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
SELECT adv.tamper(:'code', 'database', 'postgres') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
-- [74] a token for another role is confirmed, but does not let this login
-- run the statement
SELECT adv.tamper(:'code', 'role', 'ag_member') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT agentguard.confirm(:'other') ~ '^confirmed' AS confirmed_for_another_role;
SELECT try('TRUNCATE scratch');
-- [75] a token living longer than agentguard.max_token_ttl, and an expired one
\set other `agentguard sign --key :'alice_key' --ttl 2h :'code' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
\set other `agentguard sign --key :'alice_key' --ttl 1s :'code' 2>/dev/null`
SELECT pg_sleep(1.5);
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
-- the real token, confirmed and waiting
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
-- [76] it does not cover the statement with other white space, other case,
-- a comment in or after it, a marker, another table, or the same text naming
-- another table (a comment before it is not part of the statement)
SELECT try('TRUNCATE  scratch');
SELECT try('truncate scratch');
SELECT try('TRUNCATE scratch -- approved');
SELECT try('TRUNCATE /* agentguard:approved */ scratch');
SELECT try('TRUNCATE scratch, payroll');
SET search_path = adv, adv_data, public;
SELECT try('TRUNCATE scratch');
SET search_path = adv_data, public;
-- [77] ... nor a multi-statement string that hides a second TRUNCATE; all
-- of it rolls back and the token stays unused
TRUNCATE scratch \; TRUNCATE payroll;
SELECT count(*) AS scratch_rows, (SELECT count(*) FROM payroll) AS payroll_rows FROM scratch;
-- [78] BYPASS: the token names the table, not the object: swap the names
-- and it truncates another table
BEGIN;
ALTER TABLE scratch RENAME TO scratch_real;
ALTER TABLE payroll RENAME TO scratch;
SELECT adv.outcome('TRUNCATE scratch');
SELECT count(*) AS payroll_rows FROM scratch;
ROLLBACK;
-- allowed: documented: what the token was signed for runs once ...
TRUNCATE scratch;
INSERT INTO scratch VALUES (1);
-- [79] ... and never again
SELECT try('TRUNCATE scratch');
SELECT try(format('SELECT agentguard.confirm(%L)', :'token'));
SELECT count(*) AS scratch_rows FROM scratch;
RESET search_path;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT fingerprint('adv.scratch') AS dba_scratch;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- allowed: documented.  Not destructive, or outside what agentguard
-- protects (docs/threat-model.md says why); none of these is an attempt.
---------------------------------------------------------------------------
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
-- rewrites that keep every row
VACUUM FULL accounts;
CLUSTER accounts USING accounts_pkey;
REINDEX TABLE accounts;
-- definitions that change, no data lost
ALTER TABLE accounts ALTER COLUMN owner SET DEFAULT 'nobody';
ALTER TABLE accounts ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;
ALTER TABLE accounts ADD PRIMARY KEY (id);
CREATE OR REPLACE VIEW rich AS SELECT * FROM accounts WHERE balance > 150;
CREATE OR REPLACE VIEW rich AS SELECT * FROM accounts WHERE balance > 100;
-- sequences: values jump, nothing is deleted
SELECT last_value AS invoice_last FROM invoice_no \gset
ALTER SEQUENCE invoice_no RESTART WITH 1000;
SELECT setval('invoice_no', :invoice_last);
-- the row limit is per statement: many small statements are many statements
BEGIN;
DO $$ BEGIN FOR i IN 0 .. 4 LOOP DELETE FROM adv_data.accounts WHERE id > i * 4 AND id <= (i + 1) * 4; END LOOP; END $$;
SELECT count(*) AS accounts_left FROM accounts;
ROLLBACK;
-- a WHERE clause that happens to match every row of a table smaller than
-- the limit, and a self-join
BEGIN;
DELETE FROM scratch WHERE i > 0;
MERGE INTO names n USING names m ON n.id = m.id WHEN MATCHED THEN DELETE;
ROLLBACK;
RESET search_path;

---------------------------------------------------------------------------
-- 9. A crash destroys too.  (Last: when it crashes, nothing after it runs.)
---------------------------------------------------------------------------
SELECT fingerprint('adv_data.big') AS big_before \gset
-- [80] BYPASS: ALTER TYPE / ALTER DOMAIN ... RENAME, OWNER TO and SET SCHEMA
-- are harmless, but in an agent session they crash the server, and crash
-- recovery empties every UNLOGGED table
ALTER DOMAIN adv_data.positive RENAME CONSTRAINT positive_check TO positive_check2;
ALTER DOMAIN adv_data.positive RENAME CONSTRAINT positive_check2 TO positive_check;
ALTER TYPE adv_data.mood RENAME TO mood2;
ALTER TYPE adv_data.mood2 RENAME TO mood;
ALTER DOMAIN adv_data.positive OWNER TO ag_agent;
ALTER TYPE adv_data.mood SET SCHEMA adv_q;
ALTER TYPE adv_q.mood SET SCHEMA adv_data;

\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT fingerprint('adv_data.big') = :'big_before' AS big_kept_its_rows,
       (SELECT count(*) FROM pg_type WHERE typname IN ('mood', 'positive')
        AND typnamespace = 'adv_data'::regnamespace) AS types_back;

-- clean up
SET client_min_messages = warning;
ALTER ROLE ag_agent RESET agentguard.max_rows;
ALTER ROLE ag_super RESET agentguard.max_rows;
DO $$ DECLARE e bigint; BEGIN
    FOR e IN SELECT id FROM agentguard.quarantine WHERE original_schema LIKE 'adv%' LOOP
        PERFORM agentguard.purge(e);
    END LOOP;
END $$;
DROP SCHEMA adv_data, adv_q, adv CASCADE;
REVOKE adv_owner FROM ag_agent;
DROP ROLE adv_owner;
RESET client_min_messages;
