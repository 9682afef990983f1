-- A token approves objects, not names: security findings 6 and 10 and the
-- members of their class.  Each approval is for a harmless object; the
-- agent then points the name at a precious one and runs the approved text.
-- Every attempt is refused and leaves everything as it was.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

CREATE SCHEMA bi AUTHORIZATION ag_agent;
CREATE SCHEMA bi_spare AUTHORIZATION ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = bi, public;
CREATE TYPE status AS ENUM ('open', 'closed');
CREATE TYPE tmp_status AS ENUM ('unused');
CREATE DOMAIN amount AS numeric CHECK (VALUE >= 0);
CREATE DOMAIN tmp_amount AS numeric;
CREATE TABLE tickets(id int PRIMARY KEY, st status, paid amount);
INSERT INTO tickets SELECT g, 'open', g FROM generate_series(1, 20) g;
CREATE TABLE customers(id int PRIMARY KEY, name text);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 20) g;
CREATE TABLE scratch(id int, junk text);
CREATE TABLE doomed(id int);
CREATE FUNCTION junk_fn(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE FUNCTION price_of(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 100';
CREATE VIEW priced AS SELECT id, price_of(id) AS price FROM tickets;
CREATE SEQUENCE tmp_seq;
CREATE SEQUENCE invoice_seq;
SELECT setval('invoice_seq', 500);
CREATE TABLE invoices(id int DEFAULT nextval('bi.invoice_seq'));
RESET SESSION AUTHORIZATION;
CREATE FUNCTION bi.state() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ', fingerprint('bi.tickets'), fingerprint('bi.customers'),
        (SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
         FROM pg_attribute WHERE attrelid IN ('bi.tickets'::regclass, 'bi.customers'::regclass)
         AND attnum > 0 AND NOT attisdropped),
        to_regprocedure('bi.price_of(int)') IS NOT NULL,
        to_regtype('bi.status') IS NOT NULL, to_regtype('bi.amount') IS NOT NULL,
        (SELECT last_value FROM bi.invoice_seq),
        to_regclass('bi.priced') IS NOT NULL)
$$;
CREATE TABLE bi.before AS SELECT bi.state() AS s;
CREATE FUNCTION bi.unchanged() RETURNS boolean LANGUAGE sql AS
    $$ SELECT bi.state() = (SELECT s FROM bi.before) $$;
GRANT SELECT ON bi.before TO PUBLIC;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = bi, public;

-- [6a] a type: the approved DROP TYPE tmp_status CASCADE reaches nothing;
-- renamed, the used type would take tickets.st with it
SELECT request_of('DROP TYPE tmp_status CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER TYPE tmp_status RENAME TO tmp_status_away;
ALTER TYPE status RENAME TO tmp_status;
SELECT why('DROP TYPE tmp_status CASCADE');
ROLLBACK;
-- [6b] a domain, the same way
SELECT request_of('DROP DOMAIN tmp_amount CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER DOMAIN tmp_amount RENAME TO tmp_amount_away;
ALTER DOMAIN amount RENAME TO tmp_amount;
SELECT why('DROP DOMAIN tmp_amount CASCADE');
ROLLBACK;
-- [6c] a schema: the approved one is empty, the one renamed into its name is not
SELECT request_of('DROP SCHEMA bi_spare CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER SCHEMA bi_spare RENAME TO bi_spare_away;
ALTER SCHEMA bi RENAME TO bi_spare;
SELECT why('DROP SCHEMA bi_spare CASCADE');
ROLLBACK;
-- [6d] a sequence: the approved one is unused, the other numbers invoices
SELECT request_of('DROP SEQUENCE tmp_seq CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER SEQUENCE tmp_seq RENAME TO tmp_seq_away;
ALTER SEQUENCE invoice_seq RENAME TO tmp_seq;
SELECT why('DROP SEQUENCE tmp_seq CASCADE');
ROLLBACK;
-- [10a] a column: scratch.junk approved; customers renamed scratch and its
-- name column renamed junk, all in one transaction
SELECT request_of('ALTER TABLE scratch DROP COLUMN junk') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER TABLE scratch RENAME TO scratch_away;
ALTER TABLE customers RENAME TO scratch;
ALTER TABLE scratch RENAME COLUMN name TO junk;
SELECT why('ALTER TABLE scratch DROP COLUMN junk');
ROLLBACK;
-- [10b] the same for a type change that keeps nothing (USING NULL)
SELECT request_of('ALTER TABLE scratch ALTER COLUMN junk TYPE text USING NULL') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER TABLE scratch RENAME TO scratch_away;
ALTER TABLE customers RENAME TO scratch;
ALTER TABLE scratch RENAME COLUMN name TO junk;
SELECT why('ALTER TABLE scratch ALTER COLUMN junk TYPE text USING NULL');
ROLLBACK;
-- [10c] a function: junk_fn(int) approved; price_of, used by a view,
-- renamed into its place
SELECT request_of('DROP FUNCTION junk_fn(int) CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
ALTER FUNCTION junk_fn(int) RENAME TO junk_fn_away;
ALTER FUNCTION price_of(int) RENAME TO junk_fn;
SELECT why('DROP FUNCTION junk_fn(int) CASCADE');
ROLLBACK;
-- [10d] what a CASCADE reaches is bound too: a view made on the approved
-- table since the approval is not covered
SELECT request_of('DROP TABLE doomed CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
CREATE VIEW doomed_view AS SELECT * FROM doomed;
SELECT why('DROP TABLE doomed CASCADE');
SELECT to_regclass('bi.doomed') IS NOT NULL AS doomed_kept, to_regclass('bi.doomed_view') IS NOT NULL AS view_kept;
RESET SESSION AUTHORIZATION;
SELECT bi.unchanged() AS unchanged;

-- what was approved still runs, on the objects the DBA saw
SET SESSION AUTHORIZATION ag_agent;
SET search_path = bi, public;
DROP TYPE tmp_status CASCADE;
DROP DOMAIN tmp_amount CASCADE;
DROP SEQUENCE tmp_seq CASCADE;
ALTER TABLE scratch ALTER COLUMN junk TYPE text USING NULL;
ALTER TABLE scratch DROP COLUMN junk;
DROP FUNCTION junk_fn(int) CASCADE;
RESET SESSION AUTHORIZATION;
SELECT bi.unchanged() AS unchanged;
SELECT to_regtype('bi.tmp_status') AS tmp_status, to_regtype('bi.tmp_amount') AS tmp_amount,
       to_regclass('bi.tmp_seq') AS tmp_seq, to_regprocedure('bi.junk_fn(int)') AS junk_fn,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'bi.scratch'::regclass
        AND attname = 'junk') AS junk_columns;
