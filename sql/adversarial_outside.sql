-- Adversarial, part 3 of 8, attempts [27]-[31]: reaching outside the
-- database: server files and programs, large-object export, C functions, an
-- event trigger left for the next session.  Runs after the parts before it;
-- adversarial_identity sets the stage (schemas adv and adv_data,
-- adv.outcome(), adv.unchanged) and says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

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
