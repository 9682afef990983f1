-- No old object may come to depend on a temporary one: the end of the
-- session (or DISCARD TEMP) drops the temporary schema with CASCADE,
-- internally, and would take the old object with it.  Security finding 3
-- and the members of its class; every attempt is refused outright and
-- leaves the old objects as they were, through DISCARD TEMP and the end of
-- the session.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

CREATE SCHEMA bt AUTHORIZATION ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = bt, public;
CREATE TABLE r3(a int, b text);
INSERT INTO r3 SELECT g, 'row ' || g FROM generate_series(1, 50) g;
CREATE TABLE plain(a int);
INSERT INTO plain SELECT generate_series(1, 50);
CREATE TYPE mood AS ENUM ('ok');
RESET SESSION AUTHORIZATION;
CREATE FUNCTION bt.state() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ', fingerprint('bt.r3'), fingerprint('bt.plain'),
        (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || c.reloftype, ',' ORDER BY c.relname)
         FROM pg_class c WHERE c.relnamespace = 'bt'::regnamespace AND c.relname <> 'before'),
        (SELECT string_agg(c.relname || '.' || a.attname, ',' ORDER BY 1)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'bt'::regnamespace AND c.relname <> 'before'
         AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT string_agg(p.oid::regprocedure::text, ',' ORDER BY 1) FROM pg_proc p
         WHERE p.pronamespace = 'bt'::regnamespace AND p.proname NOT IN ('state', 'unchanged')),
        (SELECT string_agg(t.typname, ',' ORDER BY 1) FROM pg_type t
         WHERE t.typnamespace = 'bt'::regnamespace AND t.typtype IN ('d', 'e')),
        (SELECT string_agg(conname, ',' ORDER BY 1) FROM pg_constraint
         WHERE connamespace = 'bt'::regnamespace),
        (SELECT string_agg(tgname, ',' ORDER BY 1) FROM pg_trigger
         WHERE tgrelid = 'bt.plain'::regclass))
$$;
CREATE TABLE bt.before AS SELECT bt.state() AS s;
GRANT SELECT ON bt.before TO PUBLIC;
CREATE FUNCTION bt.unchanged() RETURNS boolean LANGUAGE sql AS
    $$ SELECT bt.state() = (SELECT s FROM bt.before) $$;

SET SESSION AUTHORIZATION ag_agent;
SET search_path = bt, public;
-- [3a] the reported route: an old table made of a temporary type
CREATE TYPE pg_temp.t3 AS (a int, b text);
ALTER TABLE r3 OF pg_temp.t3;
-- [3b] a view on a temporary function
CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE VIEW v_on_temp AS SELECT pg_temp.f() AS one;
-- [3c] a column of a temporary type added to an old table
CREATE TYPE pg_temp.tt AS ENUM ('x');
ALTER TABLE plain ADD COLUMN c pg_temp.tt;
-- [3d] a default that calls a temporary function
ALTER TABLE plain ADD COLUMN d int DEFAULT pg_temp.f();
-- [3e] a check constraint and an index expression that call one
ALTER TABLE plain ADD CONSTRAINT positive CHECK (a + pg_temp.f() > 0);
CREATE FUNCTION pg_temp.g(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE INDEX plain_g ON plain (pg_temp.g(a));
-- [3f] a trigger whose function is temporary
CREATE FUNCTION pg_temp.trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER t BEFORE INSERT ON plain FOR EACH ROW EXECUTE FUNCTION pg_temp.trg();
-- [3g] a function of an old schema that takes a temporary type
CREATE FUNCTION bt.takes(pg_temp.tt) RETURNS int LANGUAGE sql AS 'SELECT 1';
-- [3h] a domain over a temporary type
CREATE DOMAIN bt.dom AS pg_temp.tt;
-- temporary objects on temporary ones are the agent's own business
CREATE TEMP TABLE scratch(c pg_temp.tt DEFAULT 'x', d int DEFAULT pg_temp.f());
CREATE TEMP VIEW scratch_view AS SELECT pg_temp.f();
DISCARD TEMP;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
\c - :dba
SELECT bt.unchanged() AS unchanged;
