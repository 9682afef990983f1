-- Side doors: what an agent session may not do at all, or only with a
-- DBA's confirmation, because it reaches around agentguard (security
-- finding 9, the contract's role and file rules, and the settings that load
-- code).  Every attempt shows that nothing changed.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

CREATE ROLE bs_dba LOGIN PASSWORD 'unchanged';
SECURITY LABEL FOR agentguard ON ROLE bs_dba IS 'trusted';
CREATE ROLE bs_member;
GRANT bs_dba TO bs_member;
-- the server's warnings about wal_level and the unconnected subscription
-- are worded differently across versions
SET client_min_messages = error;
CREATE PUBLICATION bs_pub FOR ALL TABLES;
CREATE SUBSCRIPTION bs_sub CONNECTION 'dbname=nowhere' PUBLICATION bs_pub
    WITH (connect = false, slot_name = NONE, enabled = false);
RESET client_min_messages;
CREATE FUNCTION public.roles_state() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ',
        (SELECT string_agg(rolname || ':' || rolsuper::text || rolcreaterole::text || rolcanlogin::text || coalesce(rolpassword, '-')
                           , ' ' ORDER BY rolname)
         FROM pg_authid WHERE (rolname LIKE 'bs\_%' AND rolname <> 'bs_made')
            OR rolname IN ('ag_agent', 'ag_super', 'pg_read_server_files')),
        (SELECT string_agg(r.rolname || '>' || m.rolname, ' ' ORDER BY 1)
         FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
         WHERE r.rolname <> 'bs_made' AND (r.rolname LIKE 'bs\_%' OR m.rolname IN ('ag_agent', 'ag_super')
            OR r.rolname = 'pg_read_server_files')),
        (SELECT string_agg(subname || ':' || subenabled::text || ':' || subconninfo, ' ') FROM pg_subscription),
        (SELECT coalesce(string_agg(array_to_string(setconfig, ','), ' '), '-') FROM pg_db_role_setting))
$$;
CREATE TABLE public.roles_before AS SELECT public.roles_state() AS s;

\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [9] subscriptions apply rows outside any session: refused outright
SELECT try($$CREATE SUBSCRIPTION bs_loop CONNECTION 'dbname=contrib_regression' PUBLICATION bs_pub WITH (connect = false, slot_name = NONE)$$);
SELECT try('ALTER SUBSCRIPTION bs_sub ENABLE');
SELECT try($$ALTER SUBSCRIPTION bs_sub CONNECTION 'dbname=contrib_regression'$$);
SELECT try('ALTER SUBSCRIPTION bs_sub REFRESH PUBLICATION');

-- settings that load libraries into sessions, now or at the next login
SELECT try($$SET session_preload_libraries = 'auto_explain'$$);
SELECT try($$ALTER ROLE ag_super SET session_preload_libraries = 'auto_explain'$$);
SELECT try($$ALTER ROLE ag_agent SET local_preload_libraries = 'auto_explain'$$);
SELECT try($$ALTER DATABASE contrib_regression SET session_preload_libraries = 'auto_explain'$$);
SELECT try($$SET dynamic_library_path = '/tmp'$$);

-- the server's files are not the agent's to read
SELECT try($$SELECT pg_read_file('postgresql.conf')$$);
SELECT try($$SELECT pg_read_file('postgresql.conf', 0, 10)$$);
SELECT try($$SELECT pg_read_binary_file('postgresql.conf')$$);
SELECT try($$SELECT pg_ls_dir('.')$$);
SELECT try($$SELECT pg_stat_file('postgresql.conf')$$);
SELECT try($$SELECT count(*) FROM pg_ls_logdir()$$);
SELECT try($$SELECT count(*) FROM pg_ls_waldir()$$);
SELECT try($$SELECT count(*) FROM pg_ls_tmpdir()$$);
-- under another name, too
SELECT try($$CREATE FUNCTION public.peek(text) RETURNS text LANGUAGE internal AS 'pg_read_file_all'$$);

-- a role the agent makes is an agent's
CREATE ROLE bs_made LOGIN;
SELECT label FROM pg_shseclabel WHERE objoid = 'bs_made'::regrole AND provider = 'agentguard';
ALTER ROLE bs_made CONNECTION LIMIT 5;
-- a role that is not an agent's is changed only with a DBA's confirmation
SELECT try($$ALTER ROLE bs_dba PASSWORD 'known'$$);
SELECT try('ALTER ROLE bs_dba NOLOGIN');
SELECT try('ALTER ROLE bs_dba RENAME TO bs_renamed');
SELECT try($$ALTER ROLE bs_dba SET search_path = 'bs_trap'$$);
SELECT try('GRANT bs_dba TO ag_super');
SELECT try('GRANT pg_read_server_files TO bs_made');
SELECT try('REVOKE bs_dba FROM bs_member');
SELECT try('CREATE ROLE bs_heir IN ROLE bs_dba');
SELECT try('ALTER GROUP bs_dba ADD USER bs_made');
SELECT shown(request_of('ALTER ROLE bs_dba NOLOGIN'));
-- an agent's own roles it may change (leaving one is refused, as for any
-- role labelled 'agent')
GRANT bs_made TO ag_agent;
REVOKE bs_made FROM ag_agent;
\c - :dba
SELECT roles_state() = (SELECT s FROM roles_before) AS roles_unchanged;
SELECT rolname FROM pg_roles WHERE rolname LIKE 'bs\_%' ORDER BY 1;

-- SET UNLOGGED of a table holding rows: a crash or a failover empties it
CREATE SCHEMA bs AUTHORIZATION ag_agent;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE bs.kept(i int);
INSERT INTO bs.kept SELECT generate_series(1, 10);
CREATE TABLE bs.empty(i int);
SELECT try('ALTER TABLE bs.kept SET UNLOGGED');
SELECT try('ALTER TABLE bs.empty SET UNLOGGED');
SELECT relname, relpersistence FROM pg_class WHERE relnamespace = 'bs'::regnamespace ORDER BY 1;
-- lo_unlink of a large object: its data is gone
\c - :dba
SELECT lo_from_bytea(0, 'precious') AS lo \gset
ALTER LARGE OBJECT :lo OWNER TO ag_agent;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT regexp_replace(try(format('SELECT lo_unlink(%s)', :lo)), 'object [0-9]+', 'object <lo>') AS try;
SELECT try(format('SELECT lo_truncate(lo_open(%s, 131072), 0)', :lo));
SELECT convert_from(lo_get(:lo), 'UTF8') AS lo_kept;
-- one the session made in this transaction is its own to unlink
BEGIN;
SELECT lo_from_bytea(0, 'mine') AS mine \gset
SELECT lo_unlink(:mine);
COMMIT;
\c - :dba
SELECT lo_unlink(:lo);
DROP SUBSCRIPTION bs_sub;
DROP PUBLICATION bs_pub;
SELECT rolname FROM pg_roles WHERE rolname LIKE 'bs\_%' ORDER BY 1;
DROP ROLE bs_made, bs_member, bs_dba;
DROP TABLE public.roles_before;
DROP FUNCTION public.roles_state();
