-- Adversarial: an agent session tries every route we know of to get a
-- destructive statement through without a DBA's signed confirmation, to
-- switch agentguard off, or to damage agentguard's own state.  Every
-- attempt [n] is shown to fail AND to leave things as they were.
--
-- The attempts are split by kind of route over eight files, run in this
-- order, and numbered [1] to [80] across them:
--   adversarial_identity   [1]-[21]   who the session is: roles, labels,
--                                     membership, settings, the switch
--   adversarial_catalogs   [22]-[26]  writing the catalogs
--   adversarial_outside    [27]-[31]  server files, programs, C code,
--                                     event triggers
--   adversarial_own_state  [32]-[42]  agentguard's own objects, the quarantine
--   adversarial_ddl        [43]-[56]  DDL that destroys under another name
--   adversarial_dml        [57]-[68]  unbounded DML, the row limit
--   adversarial_tokens     [69]-[79]  tokens forged, tampered, misdirected,
--                                     reused
--   adversarial_allowed    [80]       what is allowed on purpose; a crash
-- This file first sets the stage the others use (schemas adv and adv_data,
-- the helpers in adv, the baseline behind adv.unchanged); the last file
-- removes it.
--
-- Attempts marked BYPASS got through when the suite was written; their
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
