-- Adversarial, part 2 of 8, attempts [22]-[26]: writing the catalogs that
-- decide who is an agent and what is set: DML on them, catalog DDL with
-- allow_system_table_mods, COPY into them.  Runs after the parts before it;
-- adversarial_identity sets the stage (schemas adv and adv_data,
-- adv.outcome(), adv.unchanged) and says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

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
