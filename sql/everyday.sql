-- An agent's everyday work runs without a confirmation: DML on temporary
-- tables and tables made in the same transaction, one-row tables, scratch
-- tables, TRUNCATE of empty tables.  None of it reaches an old table's rows.
\set VERBOSITY terse
CREATE SCHEMA everyday;
GRANT ALL ON SCHEMA everyday TO ag_agent;
CREATE TABLE everyday.kept(id int PRIMARY KEY, v text);
INSERT INTO everyday.kept SELECT g, 'v' || g FROM generate_series(1, 30) g;
ALTER TABLE everyday.kept OWNER TO ag_agent;
SELECT fingerprint('everyday.kept') AS kept_before \gset
SET agentguard.max_rows = 10;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = everyday, public;

-- temporary tables: no WHERE, any number of rows
CREATE TEMP TABLE work_tmp(id int);
INSERT INTO work_tmp SELECT generate_series(1, 50);
UPDATE work_tmp SET id = id + 1;
MERGE INTO work_tmp t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE;
INSERT INTO work_tmp SELECT generate_series(1, 50);
DELETE FROM work_tmp;
-- made earlier in the same transaction
BEGIN;
CREATE TABLE staging(i int);
INSERT INTO staging SELECT generate_series(1, 50);
UPDATE staging SET i = 0;
DELETE FROM staging;
COMMIT;
-- ... and in the next transaction it is an old table
INSERT INTO staging SELECT generate_series(1, 5);
SELECT try('DELETE FROM staging');
SELECT count(*) AS staging_rows FROM staging;
-- a new parent over an old table reaches the old table's rows: counted
BEGIN;
CREATE TABLE new_parent(id int, v text);
ALTER TABLE kept INHERIT new_parent;
SELECT try('DELETE FROM new_parent');
SELECT try('UPDATE new_parent SET v = NULL');
ROLLBACK;
-- a trigger on a temporary table that deletes old rows: they count
CREATE FUNCTION pg_temp.wipe() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM everyday.kept; RETURN NULL; END $$;
CREATE TEMP TABLE trap(i int);
CREATE TRIGGER wipe AFTER INSERT ON trap FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.wipe();
SELECT try('INSERT INTO trap VALUES (1)');
DROP TABLE trap;
SELECT fingerprint('kept') = :'kept_before' AS kept_unchanged;

-- one-row tables may be changed without WHERE: knex's lock
CREATE TABLE knex_lock(index serial PRIMARY KEY, is_locked int);
INSERT INTO knex_lock(is_locked) VALUES (1);
UPDATE knex_lock SET is_locked = 0;
DELETE FROM knex_lock;
-- a second row stops the statement, never analyzed or not, and it changes nothing
INSERT INTO knex_lock(is_locked) VALUES (1), (1);
SELECT reltuples FROM pg_class WHERE oid = 'knex_lock'::regclass;
SELECT try('UPDATE knex_lock SET is_locked = 0');
SELECT try('DELETE FROM knex_lock WHERE true');
SELECT try('MERGE INTO knex_lock k USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE');
SELECT is_locked, count(*) FROM knex_lock GROUP BY 1;

-- TRUNCATE of tables that hold no row
CREATE TABLE empty_one(i int);
CREATE TABLE empty_parted(i int) PARTITION BY RANGE (i);
CREATE TABLE empty_p1 PARTITION OF empty_parted FOR VALUES FROM (0) TO (10);
CREATE TABLE empty_p2 PARTITION OF empty_parted FOR VALUES FROM (10) TO (20);
TRUNCATE empty_one;
TRUNCATE empty_parted;
-- rows deleted and committed are not rows
INSERT INTO empty_one VALUES (1);
DELETE FROM empty_one WHERE i = 1;
TRUNCATE empty_one;
-- one partition holding a row is enough to refuse
INSERT INTO empty_parted VALUES (15);
SELECT try('TRUNCATE empty_parted');
SELECT try('TRUNCATE empty_one, empty_p2');
SELECT count(*) AS still_there FROM empty_parted;
-- nor does an empty table's CASCADE reach a table with rows
CREATE TABLE empty_ref(id int PRIMARY KEY);
INSERT INTO empty_ref VALUES (1);
CREATE TABLE referrer(ref int REFERENCES empty_ref);
INSERT INTO referrer VALUES (1);
DELETE FROM referrer WHERE ref = 1;
DELETE FROM empty_ref WHERE id = 1;
BEGIN;
ALTER TABLE kept ADD COLUMN ref int REFERENCES empty_ref;
SELECT try('TRUNCATE empty_ref CASCADE');
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- scratch: labels on tables and schemas, set by superusers only
CREATE TABLE everyday.queue(id int, payload text);
INSERT INTO everyday.queue SELECT g, 'job' || g FROM generate_series(1, 40) g;
ALTER TABLE everyday.queue OWNER TO ag_agent;
SECURITY LABEL FOR agentguard ON TABLE everyday.queue IS 'Scratch';
SECURITY LABEL FOR agentguard ON TABLE everyday.queue IS 'agent';
SECURITY LABEL FOR agentguard ON COLUMN everyday.queue.id IS 'scratch';
CREATE VIEW everyday.queue_view AS SELECT * FROM everyday.queue;
SECURITY LABEL FOR agentguard ON VIEW everyday.queue_view IS 'scratch';
SECURITY LABEL FOR agentguard ON SCHEMA agentguard IS 'scratch';
SECURITY LABEL FOR agentguard ON TABLE agentguard.signers IS 'scratch';
SECURITY LABEL FOR agentguard ON SCHEMA pg_catalog IS 'scratch';
SECURITY LABEL FOR agentguard ON TABLE everyday.queue IS 'scratch';
CREATE SCHEMA cache;
GRANT ALL ON SCHEMA cache TO ag_agent;
SECURITY LABEL FOR agentguard ON SCHEMA cache IS 'scratch';
CREATE TABLE cache.entries(k text, v text);
INSERT INTO cache.entries SELECT g::text, 'v' FROM generate_series(1, 40) g;
ALTER TABLE cache.entries OWNER TO ag_agent;
SELECT c.relname, l.label FROM pg_seclabel l JOIN pg_class c ON c.oid = l.objoid
WHERE l.provider = 'agentguard' AND l.classoid = 'pg_class'::regclass
UNION ALL
SELECT n.nspname, l.label FROM pg_seclabel l JOIN pg_namespace n ON n.oid = l.objoid
WHERE l.provider = 'agentguard' AND l.classoid = 'pg_namespace'::regclass ORDER BY 1;
-- a non-superuser owner cannot label its own table
SET ROLE ag_human;
CREATE TABLE public.human_table(i int);
SELECT try($$SECURITY LABEL FOR agentguard ON TABLE public.human_table IS 'scratch'$$);
DROP TABLE public.human_table;
RESET ROLE;

SET SESSION AUTHORIZATION ag_agent;
SET search_path = everyday, public;
-- nor can an agent, not even remove one
SELECT try($$SECURITY LABEL FOR agentguard ON TABLE queue IS NULL$$);
SELECT try($$SECURITY LABEL FOR agentguard ON TABLE kept IS 'scratch'$$);
-- the rows of scratch tables are the agent's
UPDATE queue SET payload = 'done';
DELETE FROM queue;
INSERT INTO queue SELECT g, 'job' || g FROM generate_series(1, 40) g;
MERGE INTO queue q USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE;
INSERT INTO queue SELECT g, 'job' || g FROM generate_series(1, 40) g;
TRUNCATE queue;
DELETE FROM cache.entries;
INSERT INTO cache.entries VALUES ('a', 'b'), ('c', 'd');
TRUNCATE cache.entries;
-- a table made later in a scratch schema is scratch too
CREATE TABLE cache.later(i int);
INSERT INTO cache.later SELECT generate_series(1, 40);
DELETE FROM cache.later;
-- a function deleting one job at a time, many times over, stays free
INSERT INTO queue SELECT g, 'job' || g FROM generate_series(1, 40) g;
DO $$ BEGIN FOR i IN 1..40 LOOP DELETE FROM everyday.queue WHERE id = i; END LOOP; END $$;
SELECT count(*) AS queue_rows FROM queue;
-- dropping a scratch table stays protected
SELECT try('DROP TABLE queue');
SELECT try('DROP TABLE cache.later');
-- rows outside scratch reached from it still count: a cascade, a trigger
INSERT INTO queue SELECT g, 'job' || g FROM generate_series(1, 40) g;
BEGIN;
CREATE FUNCTION queue_wipe() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM everyday.kept; RETURN NULL; END $$;
CREATE TRIGGER queue_wipe AFTER DELETE ON queue FOR EACH STATEMENT EXECUTE FUNCTION queue_wipe();
SELECT try('DELETE FROM queue');
ROLLBACK;
SELECT try('WITH gone AS (DELETE FROM queue RETURNING id) DELETE FROM kept WHERE id IN (SELECT id FROM gone)');
-- a TRUNCATE of a scratch table whose CASCADE reaches a kept table
ALTER TABLE queue ADD PRIMARY KEY (id);
BEGIN;
ALTER TABLE kept ADD COLUMN job int REFERENCES queue;
SELECT try('TRUNCATE queue CASCADE');
ROLLBACK;
-- moving a table that holds rows into a scratch schema is guarded
SELECT try('ALTER TABLE kept SET SCHEMA cache');
SELECT to_regclass('everyday.kept') IS NOT NULL AS kept_where_it_was;
-- an empty one may go
CREATE TABLE empty_two(i int);
ALTER TABLE empty_two SET SCHEMA cache;
SELECT fingerprint('kept') = :'kept_before' AS kept_unchanged, count(*) AS queue_rows FROM queue;
RESET SESSION AUTHORIZATION;

-- a DBA removes the label: from the next statement on, the rows are protected
SECURITY LABEL FOR agentguard ON TABLE everyday.queue IS NULL;
SET SESSION AUTHORIZATION ag_agent;
SELECT try('DELETE FROM everyday.queue');
SELECT count(*) AS queue_rows FROM everyday.queue;
RESET SESSION AUTHORIZATION;
RESET agentguard.max_rows;
SECURITY LABEL FOR agentguard ON SCHEMA cache IS NULL;
DROP SCHEMA cache CASCADE;
DROP SCHEMA everyday CASCADE;
