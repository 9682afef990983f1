-- DELETE, UPDATE and MERGE from agent sessions: no unbounded statements,
-- and at most agentguard.max_rows changed rows per statement, counting what
-- cascades and triggers change for it.  Refused statements change nothing.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set alice_key :builddir '/results/alice.pem'
CREATE SCHEMA rows AUTHORIZATION ag_agent;
SET search_path = rows, public;
CREATE TABLE t(id int NOT NULL PRIMARY KEY, v int, maybe int);
INSERT INTO t SELECT g, g, g FROM generate_series(1, 40) g;
CREATE TABLE src(id int);
INSERT INTO src VALUES (1), (2);
CREATE VIEW t_view AS SELECT * FROM t;
CREATE VIEW t_some AS SELECT * FROM t WHERE id <= 3;
CREATE TABLE log(i int);
CREATE RULE wipe AS ON INSERT TO log DO ALSO DELETE FROM t;
CREATE FUNCTION plpgsql_wipe() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM rows.t; END $$;
CREATE FUNCTION sql_wipe() RETURNS void LANGUAGE sql AS 'UPDATE rows.t SET v = 0';
CREATE FUNCTION run(stmt text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE stmt; END $$;
ALTER TABLE t OWNER TO ag_agent;
ALTER TABLE src OWNER TO ag_agent;
ALTER TABLE log OWNER TO ag_agent;
ALTER VIEW t_view OWNER TO ag_agent;
ALTER VIEW t_some OWNER TO ag_agent;
CREATE TABLE t_before AS SELECT fingerprint('rows.t') AS f;
GRANT SELECT ON t_before TO PUBLIC;

SET agentguard.max_rows = 10;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = rows, public;

-- unbounded, in every form and place
SELECT try('DELETE FROM t');
SELECT shown(request_of('DELETE FROM t'));
SELECT why('DELETE FROM t');
SELECT why('UPDATE t SET v = v + 1');
SELECT why('DELETE FROM t WHERE true');
SELECT why('DELETE FROM t WHERE 1 = 1');
SELECT why($$DELETE FROM t WHERE 'a' = 'a'$$);
SELECT why('DELETE FROM t WHERE NOT false');
SELECT why('DELETE FROM t WHERE 1 = 1 AND true');
SELECT why('DELETE FROM t WHERE id = id');
SELECT why('DELETE FROM t WHERE id IS NOT NULL');
SELECT why('DELETE FROM t WHERE id < 0 OR true');
SELECT why('UPDATE t SET v = 0 WHERE coalesce(NULL, true)');
SELECT why('MERGE INTO t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE');
SELECT why('MERGE INTO t USING (SELECT 1) s ON 1 = 1 WHEN MATCHED THEN UPDATE SET v = 0');
SELECT why('WITH gone AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM gone');
SELECT why('WITH x AS (UPDATE t SET v = 0 RETURNING 1) INSERT INTO src SELECT 1 FROM x');
SELECT why('DELETE FROM t_view');
SELECT why('INSERT INTO log VALUES (1)');
SELECT why('SELECT plpgsql_wipe()');
SELECT why('SELECT sql_wipe()');
SELECT why($$SELECT run('DELETE FROM rows.t')$$);
DO $$ BEGIN DELETE FROM rows.t; END $$;
PREPARE wipe_all AS DELETE FROM t;
EXECUTE wipe_all;
PREPARE wipe_some(int) AS DELETE FROM t WHERE id > $1 OR true;
EXECUTE wipe_some(1);
SELECT fingerprint('t') = (SELECT f FROM t_before) AS nothing_changed, fingerprint('src') AS src;

-- bounded statements run, up to the limit
BEGIN;
DELETE FROM t WHERE id = 1;
UPDATE t SET v = v + 1 WHERE id < 5;
UPDATE t SET v = 0 WHERE maybe = maybe AND id <= 10;
DELETE FROM t_some;
MERGE INTO t USING src ON t.id = src.id WHEN MATCHED THEN UPDATE SET v = 7;
MERGE INTO t USING (SELECT 1000 AS id) s ON true WHEN NOT MATCHED THEN INSERT VALUES (s.id, 0, 0);
DECLARE c CURSOR FOR SELECT * FROM t WHERE id = 20 FOR UPDATE;
FETCH c;
DELETE FROM t WHERE CURRENT OF c;
SELECT count(*) FROM t;
ROLLBACK;

-- the limit: exactly max_rows changes, one more does not
BEGIN;
SELECT try('DELETE FROM t WHERE id <= 10');
ROLLBACK;
SELECT why('DELETE FROM t WHERE id <= 11');
SELECT why('UPDATE t SET v = 0 WHERE id > 29');
BEGIN;
SELECT why('UPDATE t SET v = 0 WHERE id > 30');
ROLLBACK;
SELECT why('WITH gone AS (DELETE FROM t WHERE id <= 11 RETURNING 1) SELECT count(*) FROM gone');
SELECT why('MERGE INTO t USING (SELECT generate_series(1, 11) AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE');
SELECT fingerprint('t') = (SELECT f FROM t_before) AS nothing_changed;
RESET SESSION AUTHORIZATION;

-- cascades and triggers count for the statement that caused them
CREATE TABLE parent(id int PRIMARY KEY);
CREATE TABLE child(id int, parent_id int REFERENCES parent ON DELETE CASCADE ON UPDATE CASCADE);
INSERT INTO parent VALUES (1), (2), (3);
INSERT INTO child SELECT g, 1 + g % 2 FROM generate_series(1, 20) g;
INSERT INTO child VALUES (100, 3);
CREATE TABLE audit_trail(i int);
INSERT INTO audit_trail SELECT generate_series(1, 20);
CREATE FUNCTION wipe_trail() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM rows.audit_trail WHERE i > 0; RETURN OLD; END $$;
CREATE TABLE noisy(id int);
INSERT INTO noisy VALUES (1);
CREATE TRIGGER wipe_trail AFTER DELETE ON noisy FOR EACH ROW EXECUTE FUNCTION wipe_trail();
ALTER TABLE parent OWNER TO ag_agent;
ALTER TABLE child OWNER TO ag_agent;
ALTER TABLE audit_trail OWNER TO ag_agent;
ALTER TABLE noisy OWNER TO ag_agent;
CREATE TABLE cascade_before AS SELECT fingerprint('rows.parent') AS p, fingerprint('rows.child') AS c,
    fingerprint('rows.audit_trail') AS a, fingerprint('rows.noisy') AS n;
GRANT SELECT ON cascade_before TO PUBLIC;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = rows, public;
-- two rows deleted, twenty more by the cascade
SELECT why('DELETE FROM parent WHERE id IN (1, 2)');
SELECT why('UPDATE parent SET id = id + 10 WHERE id IN (1, 2)');
-- one row deleted, twenty more by a trigger
SELECT why('DELETE FROM noisy WHERE id = 1');
-- a cascade within the limit is fine
BEGIN;
DELETE FROM parent WHERE id = 3;
SELECT count(*) FROM child WHERE parent_id = 3;
ROLLBACK;
SELECT fingerprint('parent') = p AND fingerprint('child') = c AND fingerprint('audit_trail') = a
    AND fingerprint('noisy') = n AS nothing_changed FROM cascade_before;
-- a refusal caught by an exception handler leaves the next statement alone
DO $$ BEGIN
  BEGIN DELETE FROM rows.t WHERE id <= 20; EXCEPTION WHEN insufficient_privilege THEN NULL; END;
  DELETE FROM rows.t WHERE id <= 5;
  RAISE NOTICE 'after the caught refusal: % rows left', (SELECT count(*) FROM rows.t);
  RAISE EXCEPTION 'roll back';
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
RESET SESSION AUTHORIZATION;

-- a planner estimate far above the limit is refused before anything runs
CREATE TABLE big(id int);
INSERT INTO big SELECT generate_series(1, 5000);
ANALYZE big;
ALTER TABLE big OWNER TO ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = rows, public;
SELECT why('DELETE FROM big WHERE id > 0');
SELECT count(*) FROM big;
RESET SESSION AUTHORIZATION;

-- a token lets exactly the refused statement run once, without the limit
SET SESSION AUTHORIZATION ag_agent;
SET search_path = rows, public;
SELECT request_of('DELETE FROM t') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
-- another unbounded statement does not use it
SELECT why('DELETE FROM t WHERE true');
DELETE FROM t;
SELECT count(*) AS left_after_confirmed_delete FROM t;
INSERT INTO t SELECT g, g, g FROM generate_series(1, 40) g;
SELECT why('DELETE FROM t');
SELECT request_of('DELETE FROM parent WHERE id IN (1, 2)') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM parent WHERE id IN (1, 2);
SELECT count(*) AS children_left FROM child;
INSERT INTO parent VALUES (1), (2);
INSERT INTO child SELECT g, 1 + g % 2 FROM generate_series(1, 20) g;
SELECT why('DELETE FROM parent WHERE id IN (1, 2)');
-- a prepared statement needs a token for every run
PREPARE again AS DELETE FROM t;
SELECT request_of('EXECUTE again') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
EXECUTE again;
INSERT INTO t SELECT g, g, g FROM generate_series(1, 40) g;
EXECUTE again;
SELECT count(*) FROM t;
RESET SESSION AUTHORIZATION;

-- sessions that are not agents are not counted or refused
ALTER TABLE t OWNER TO ag_human;
GRANT USAGE ON SCHEMA rows TO ag_human;
SET SESSION AUTHORIZATION ag_human;
SET search_path = rows, public;
UPDATE t SET v = 0;
DELETE FROM t;
SELECT count(*) FROM t;
RESET SESSION AUTHORIZATION;

-- observe mode warns and lets it run
INSERT INTO rows.t SELECT g, g, g FROM generate_series(1, 40) g;
ALTER TABLE rows.t OWNER TO ag_agent;
SET agentguard.mode = 'observe';
SET SESSION AUTHORIZATION ag_agent;
DELETE FROM rows.t WHERE id <= 20;
DELETE FROM rows.t;
SELECT count(*) FROM rows.t;
RESET SESSION AUTHORIZATION;
RESET agentguard.mode;
