-- What agent sessions may destroy without asking: temporary objects,
-- objects created earlier in the same transaction, and nothing at all
-- (DROP ... IF EXISTS of what does not exist).
\set VERBOSITY terse
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;

-- temporary objects
CREATE TEMP TABLE scratch(i int);
INSERT INTO scratch VALUES (1);
TRUNCATE scratch;
ALTER TABLE scratch ADD COLUMN j int;
ALTER TABLE scratch DROP COLUMN j;
ALTER TABLE scratch ALTER COLUMN i TYPE bigint;
CREATE INDEX ON scratch(i);
CREATE TEMP VIEW scratch_view AS SELECT * FROM scratch;
DROP VIEW scratch_view;
DROP TABLE scratch;
CREATE FUNCTION pg_temp.tmp_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
DROP FUNCTION pg_temp.tmp_f();

-- ordinary creation is untouched: defaults, constraints, triggers, rules
CREATE TABLE with_parts(id int PRIMARY KEY, n int DEFAULT 1 CHECK (n > 0), t text UNIQUE);
CREATE FUNCTION parts_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER parts BEFORE INSERT ON with_parts FOR EACH ROW EXECUTE FUNCTION parts_trigger();
CREATE RULE parts_rule AS ON UPDATE TO with_parts DO ALSO NOTIFY parts;
ALTER TABLE with_parts ENABLE ROW LEVEL SECURITY;
CREATE POLICY parts_policy ON with_parts USING (true);
INSERT INTO with_parts VALUES (1, 2, 'x');
SELECT * FROM with_parts;

-- created in this transaction, even after ALTERs and in a subtransaction
BEGIN;
CREATE TABLE migration_tmp(id int, old text);
INSERT INTO migration_tmp VALUES (1, 'x');
ALTER TABLE migration_tmp ADD COLUMN new text;
ALTER TABLE migration_tmp ALTER COLUMN old TYPE varchar(10);
ALTER TABLE migration_tmp DROP COLUMN old;
SAVEPOINT s1;
CREATE TABLE migration_sub(i int);
RELEASE s1;
TRUNCATE migration_tmp, migration_sub;
CREATE SCHEMA scratch_schema;
CREATE TABLE scratch_schema.t(i int);
CREATE FUNCTION scratch_schema.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TYPE scratch_schema.ty AS (a int);
DROP TYPE scratch_schema.ty;
DROP FUNCTION scratch_schema.f();
DROP SCHEMA scratch_schema CASCADE;
CREATE SEQUENCE migration_seq;
DROP SEQUENCE migration_seq;
DROP TABLE migration_tmp, migration_sub;
COMMIT;

-- a column added in this transaction to an old table may go again
BEGIN;
ALTER TABLE orders ADD COLUMN scratch int;
ALTER TABLE orders ALTER COLUMN scratch TYPE bigint;
ALTER TABLE orders DROP COLUMN scratch;
COMMIT;
-- but not in the next one
ALTER TABLE orders ADD COLUMN scratch int;
ALTER TABLE orders DROP COLUMN scratch;

-- created in an earlier transaction, then ALTERed: still protected
CREATE TABLE yesterday(i int);
INSERT INTO yesterday VALUES (1), (2);
BEGIN;
ALTER TABLE yesterday ADD COLUMN j int;
COMMENT ON TABLE yesterday IS 'touched';
DROP TABLE yesterday;
ROLLBACK;
BEGIN;
ALTER TABLE yesterday RENAME TO yesterday2;
CREATE TABLE yesterday(i int);
DROP TABLE yesterday2;
ROLLBACK;
SELECT fingerprint('yesterday');

-- created in a subtransaction that rolled back, then recreated: the new one
-- is exempt, the old name is not resurrected
BEGIN;
SAVEPOINT a;
CREATE TABLE flicker(i int);
ROLLBACK TO a;
CREATE TABLE flicker(i int);
DROP TABLE flicker;
COMMIT;

-- IF EXISTS of what does not exist
DROP TABLE IF EXISTS no_such_table;
DROP TABLE IF EXISTS no_such_table, no_such_either;
DROP SCHEMA IF EXISTS no_such_schema CASCADE;
DROP FUNCTION IF EXISTS no_such_function(int);
DROP TYPE IF EXISTS no_such_type;
DROP VIEW IF EXISTS no_such_view;
DROP INDEX IF EXISTS no_such_index;
ALTER TABLE IF EXISTS no_such_table DROP COLUMN x;
-- ... but IF EXISTS of something that exists is still refused
DROP TABLE IF EXISTS no_such_table, yesterday;
-- without IF EXISTS the server's own error is what the agent sees
DROP TABLE no_such_table;
ALTER TABLE orders DROP COLUMN no_such_column;

-- what a new object takes with it decides too: an old table moved into a
-- new schema goes down with the schema only with a confirmation
BEGIN;
CREATE SCHEMA trap;
ALTER TABLE yesterday SET SCHEMA trap;
DROP SCHEMA trap CASCADE;
ROLLBACK;
CREATE VIEW old_view AS SELECT 1 AS one;
BEGIN;
CREATE TABLE base_new(i int);
CREATE OR REPLACE VIEW old_view AS SELECT i AS one FROM base_new;
DROP TABLE base_new CASCADE;
ROLLBACK;
SELECT to_regclass('old_view') IS NOT NULL AS old_view_kept, fingerprint('yesterday');
-- TRUNCATE ... CASCADE of a new table reaching an old one
BEGIN;
CREATE TABLE referenced_new(id int PRIMARY KEY);
ALTER TABLE yesterday ADD COLUMN ref int REFERENCES referenced_new;
TRUNCATE referenced_new CASCADE;
ROLLBACK;
SELECT fingerprint('yesterday');
RESET SESSION AUTHORIZATION;
