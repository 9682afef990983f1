-- An exemption for a new object never reaches an old object's data:
-- security findings 4 and 5 and the members of their class.  A new parent
-- or a new type is exempt, but what a statement on it does to an old table
-- is judged as if done to the old table.  Every attempt leaves it as it was.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

CREATE SCHEMA br AUTHORIZATION ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = br, public;
CREATE TABLE prices(id int, price numeric(10,2), at timestamptz);
INSERT INTO prices SELECT g, g + 0.25, '2026-01-01 12:34:56+00' FROM generate_series(1, 2000) g;
CREATE TABLE stock(id int, qty int, price numeric(10,2)) PARTITION BY RANGE (id);
CREATE TABLE stock_old PARTITION OF stock FOR VALUES FROM (0) TO (1000);
INSERT INTO stock SELECT g, g, g + 0.5 FROM generate_series(1, 999) g;
CREATE TABLE loose(id int, qty int, price numeric(10,2));
INSERT INTO loose SELECT g, g, g + 0.75 FROM generate_series(1000, 1999) g;
CREATE TABLE typed_old(id int, price numeric(10,2));
INSERT INTO typed_old SELECT g, g + 0.1 FROM generate_series(1, 100) g;
RESET SESSION AUTHORIZATION;
CREATE FUNCTION br.state() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ', fingerprint('br.prices'), fingerprint('br.stock_old'),
        fingerprint('br.loose'), fingerprint('br.typed_old'),
        (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
                           || ':' || c.reloftype::regtype || ':' || c.relispartition, ','
                           ORDER BY c.relname, a.attnum)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'br'::regnamespace AND c.relname IN ('prices', 'stock_old', 'loose', 'typed_old')
         AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT count(*) FROM pg_inherits WHERE inhrelid IN
            ('br.prices'::regclass, 'br.loose'::regclass, 'br.typed_old'::regclass)))
$$;
CREATE TABLE br.before AS SELECT br.state() AS s;
GRANT SELECT ON br.before TO PUBLIC;
CREATE FUNCTION br.unchanged() RETURNS boolean LANGUAGE sql AS
    $$ SELECT br.state() = (SELECT s FROM br.before) $$;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = br, public;

-- [4a] the reported route: a new parent, the old table made its child, the
-- parent's column retyped
BEGIN;
CREATE TABLE p1(id int, price numeric(10,2), at timestamptz);
ALTER TABLE prices INHERIT p1;
ALTER TABLE p1 ALTER COLUMN price TYPE int;
ROLLBACK;
-- [4b] the same through a new partitioned parent
BEGIN;
CREATE TABLE p2(id int, qty int, price numeric(10,2)) PARTITION BY RANGE (id);
ALTER TABLE p2 ATTACH PARTITION loose FOR VALUES FROM (1000) TO (2000);
ALTER TABLE p2 ALTER COLUMN price TYPE int;
ROLLBACK;
-- [4c] a partition's columns belong to its parent: dropping the new
-- parent's column would take the old partition's
BEGIN;
CREATE TABLE p3(id int, qty int, price numeric(10,2)) PARTITION BY RANGE (id);
ALTER TABLE p3 ATTACH PARTITION loose FOR VALUES FROM (1000) TO (2000);
ALTER TABLE p3 DROP COLUMN price;
ROLLBACK;
-- [4d] a type change that keeps the type but not the values
BEGIN;
CREATE TABLE p4(id int, price numeric(10,2), at timestamptz);
ALTER TABLE prices INHERIT p4;
ALTER TABLE p4 ALTER COLUMN at TYPE timestamptz USING NULL;
ROLLBACK;
-- [4e] a new parent above an old partitioned table: the retype reaches
-- its old partition
BEGIN;
CREATE TABLE p5(id int, qty int, price numeric(10,2)) PARTITION BY RANGE (id);
ALTER TABLE p5 ATTACH PARTITION stock FOR VALUES FROM (0) TO (5000);
ALTER TABLE p5 ALTER COLUMN qty TYPE smallint USING 0;
ROLLBACK;
-- [5a] the reported route: the old table made of a new type, the type's
-- attribute retyped with CASCADE
BEGIN;
CREATE TYPE t1 AS (id int, price numeric(10,2));
ALTER TABLE typed_old OF t1;
ALTER TYPE t1 ALTER ATTRIBUTE price TYPE int CASCADE;
ROLLBACK;
-- [5b] ... or its attribute dropped
BEGIN;
CREATE TYPE t2 AS (id int, price numeric(10,2));
ALTER TABLE typed_old OF t2;
ALTER TYPE t2 DROP ATTRIBUTE price CASCADE;
ROLLBACK;
-- [5c] ... or the type dropped with CASCADE, which drops the table
BEGIN;
CREATE TYPE t3 AS (id int, price numeric(10,2));
ALTER TABLE typed_old OF t3;
DROP TYPE t3 CASCADE;
ROLLBACK;
-- [4f] a TRUNCATE of a new parent reaches an old child
BEGIN;
CREATE TABLE p6(id int, price numeric(10,2), at timestamptz);
ALTER TABLE prices INHERIT p6;
TRUNCATE p6;
ROLLBACK;
RESET SESSION AUTHORIZATION;
SELECT br.unchanged() AS unchanged;

-- [4g] an approved TRUNCATE of an empty parent does not reach a child the
-- agent gave it after the approval
SET SESSION AUTHORIZATION ag_agent;
SET search_path = br, public;
CREATE TABLE parent_empty(id int, price numeric(10,2), at timestamptz);
INSERT INTO parent_empty VALUES (1, 1, now());
SELECT request_of('TRUNCATE parent_empty') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE prices INHERIT parent_empty;
SELECT why('TRUNCATE parent_empty');
ALTER TABLE prices NO INHERIT parent_empty;
-- an approved retype of a table does not reach a child added since
SELECT request_of('ALTER TABLE parent_empty ALTER COLUMN price TYPE numeric(12,2)') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE prices INHERIT parent_empty;
SELECT why('ALTER TABLE parent_empty ALTER COLUMN price TYPE numeric(12,2)');
ALTER TABLE prices NO INHERIT parent_empty;
-- without the child, both run as approved
TRUNCATE parent_empty;
ALTER TABLE parent_empty ALTER COLUMN price TYPE numeric(12,2);
RESET SESSION AUTHORIZATION;
SELECT br.unchanged() AS unchanged;
