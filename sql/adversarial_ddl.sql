-- Adversarial, part 5 of 8, attempts [43]-[56]: DDL that destroys under
-- another name: rename, move, detach, adopt, CASCADE through types,
-- extensions and languages, ownership.  Runs after the parts before it;
-- adversarial_identity sets the stage (schemas adv and adv_data,
-- adv.outcome(), adv.unchanged) and says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

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
