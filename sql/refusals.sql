-- Every destructive statement kind is refused in an agent session, with
-- SQLSTATE 42501, a message beginning "agentguard:", a request code and a
-- hint; and nothing changes.
\set VERBOSITY terse
CREATE SCHEMA victim AUTHORIZATION ag_agent;
CREATE FOREIGN DATA WRAPPER ag_fdw;
CREATE SERVER ag_server FOREIGN DATA WRAPPER ag_fdw;
CREATE DATABASE ag_victim_db;
CREATE ROLE ag_victim_role;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
CREATE TABLE orders(id int PRIMARY KEY, note text);
INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 50) g;
CREATE TABLE lines(id int, order_id int REFERENCES orders);
INSERT INTO lines SELECT g, g FROM generate_series(1, 50) g;
CREATE INDEX orders_note ON orders(note);
CREATE VIEW order_view AS SELECT id FROM orders;
CREATE MATERIALIZED VIEW order_mv AS SELECT id FROM orders;
CREATE SEQUENCE order_seq;
CREATE TABLE measurements(at date, v int) PARTITION BY RANGE (at);
CREATE TABLE measurements_2026 PARTITION OF measurements
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO measurements VALUES ('2026-05-01', 1), ('2026-06-01', 2);
CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1';
CREATE AGGREGATE agg(int) (SFUNC = int4pl, STYPE = int);
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
RESET SESSION AUTHORIZATION;
CREATE FOREIGN TABLE victim.remote(i int) SERVER ag_server;
ALTER FOREIGN TABLE victim.remote OWNER TO ag_agent;

-- the full shape of one refusal
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT try('DROP TABLE orders CASCADE');
SELECT shown(request_of('  DROP TABLE orders CASCADE  '));

-- each kind, in both the plain form and the one with options
DROP TABLE orders;
DROP TABLE IF EXISTS orders, lines CASCADE;
DROP TABLE measurements;
DROP TABLE measurements_2026;
DROP VIEW order_view;
DROP MATERIALIZED VIEW order_mv;
DROP SEQUENCE order_seq;
DROP FOREIGN TABLE remote;
DROP INDEX orders_note;
DROP INDEX CONCURRENTLY orders_note;
DROP SCHEMA victim CASCADE;
DROP FUNCTION f(int);
DROP FUNCTION f;
DROP PROCEDURE p();
DROP ROUTINE f(int);
DROP AGGREGATE agg(int);
DROP TYPE mood;
DROP DOMAIN positive;
TRUNCATE orders, lines;
TRUNCATE ONLY measurements_2026;
TRUNCATE measurements;
ALTER TABLE orders DROP COLUMN note;
ALTER TABLE orders DROP COLUMN IF EXISTS note;
ALTER TABLE orders ALTER COLUMN note TYPE varchar(3);
ALTER TABLE orders ALTER note SET DATA TYPE int USING length(note);
ALTER TABLE orders ADD COLUMN extra int, DROP COLUMN note;
ALTER TABLE remote DROP COLUMN i;
RESET SESSION AUTHORIZATION;

-- a superuser's agent session is refused the same, including the kinds
-- that need a superuser
SET SESSION AUTHORIZATION ag_super;
DROP DATABASE ag_victim_db;
DROP DATABASE IF EXISTS ag_victim_db WITH (FORCE);
DROP ROLE ag_victim_role;
DROP ROLE IF EXISTS ag_victim_role, ag_no_such_role;
DROP OWNED BY ag_agent;
DROP OWNED BY ag_agent CASCADE;
DROP TABLE victim.orders;
RESET SESSION AUTHORIZATION;

-- the request names the statement alone, schema-qualified targets, and the
-- role that logged in
SET SESSION AUTHORIZATION ag_agent;
SELECT shown(request_of('DROP TABLE victim.lines, orders'));
SELECT shown(request_of('ALTER TABLE orders DROP COLUMN note, ALTER COLUMN id TYPE bigint'));
-- the same statement always gives the same code; another gives another
SELECT request_of('TRUNCATE orders') = request_of('TRUNCATE orders') AS same_code,
       request_of('TRUNCATE orders') <> request_of('TRUNCATE  orders') AS other_text_other_code,
       request_of('/* tidy */ -- up
  TRUNCATE orders') = request_of('TRUNCATE orders') AS leading_comments_left_out,
       request_of('TRUNCATE orders -- tidy') <> request_of('TRUNCATE orders') AS trailing_comment_kept;
RESET SESSION AUTHORIZATION;

-- nothing changed
SELECT fingerprint('victim.orders') AS orders, fingerprint('victim.lines') AS lines,
       fingerprint('victim.measurements') AS measurements;
SELECT c.relname, c.relkind, c.relnatts
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'victim' ORDER BY 1;
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a WHERE a.attrelid = 'victim.orders'::regclass AND a.attnum > 0 ORDER BY attnum;
SELECT proname FROM pg_proc WHERE pronamespace = 'victim'::regnamespace ORDER BY 1;
SELECT typname FROM pg_type WHERE typnamespace = 'victim'::regnamespace AND typtype IN ('e', 'd') ORDER BY 1;
SELECT datname FROM pg_database WHERE datname = 'ag_victim_db';
SELECT rolname FROM pg_roles WHERE rolname = 'ag_victim_role';

-- a role without a label is not affected
ALTER TABLE victim.lines OWNER TO ag_human;
GRANT USAGE ON SCHEMA victim TO ag_human;
SET SESSION AUTHORIZATION ag_human;
SELECT agentguard.is_agent_session();
TRUNCATE victim.lines;
DROP TABLE victim.lines;
RESET SESSION AUTHORIZATION;
SELECT to_regclass('victim.lines') AS lines_after_human_drop;
