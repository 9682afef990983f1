-- agentguard.requests: the recent refusals of the whole cluster, newest
-- first, each request once with the number of times it was refused; read by
-- superusers and non-agent members of pg_monitor, never by agent sessions.
-- Other tests' refusals are in it too, and so are those of earlier runs
-- against the same server (make installcheck), so only this test's objects
-- refused since it started are read.
\set VERBOSITY terse
SELECT clock_timestamp() AS started \gset
CREATE SCHEMA reqs AUTHORIZATION ag_agent;
CREATE ROLE ag_monitor LOGIN IN ROLE pg_monitor;
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE reqs.a(id int);
INSERT INTO reqs.a SELECT generate_series(1, 10);
CREATE TABLE reqs.b(id int);
INSERT INTO reqs.b SELECT generate_series(1, 10);

-- refused a, then b, then a again: a is the newest, refused twice; the
-- record outlives the transactions that the refusals rolled back
SELECT request_of('TRUNCATE reqs.a') AS code_a \gset
BEGIN;
DROP TABLE reqs.b;
ROLLBACK;
SELECT try('TRUNCATE reqs.a');
RESET SESSION AUTHORIZATION;
SELECT code = :'code_a' AS same_code, masked(role) AS role,
       database = current_database() AS this_database,
       action, objects, statement, times
FROM agentguard.requests WHERE objects IN ('reqs.a', 'reqs.b') AND refused_at >= :'started';
SELECT shown(code) FROM agentguard.requests WHERE objects = 'reqs.a' AND refused_at >= :'started';

-- the whole view is newest first, by the time of the last refusal
SELECT bool_and(refused_at >= next) AS newest_first,
       bool_and(refused_at <= clock_timestamp()) AS in_the_past
FROM (SELECT refused_at, lead(refused_at) OVER () AS next
      FROM agentguard.requests) r;

-- observe mode refuses nothing, so it keeps nothing
SET agentguard.mode = 'observe';
SET SESSION AUTHORIZATION ag_agent;
DELETE FROM reqs.b;
RESET SESSION AUTHORIZATION;
RESET agentguard.mode;
SELECT count(*) AS observed_kept FROM agentguard.requests WHERE statement = 'DELETE FROM reqs.b' AND refused_at >= :'started';

-- a request too large to keep whole is kept without its code, its objects
-- and statement cut, and counted all the same
SET SESSION AUTHORIZATION ag_agent;
DO $$ BEGIN
    FOR i IN 1..60 LOOP
        EXECUTE format('CREATE TABLE reqs.%I(id int)',
                       'a_table_whose_long_name_makes_the_request_large_' || i);
    END LOOP;
END $$;
SELECT 'DROP TABLE ' || string_agg(format('reqs.%I', 'a_table_whose_long_name_makes_the_request_large_' || i), ', ')
    AS big_drop FROM generate_series(1, 60) i \gset
SELECT request_of(:'big_drop') IS NOT NULL AS refused;
SELECT request_of(:'big_drop') IS NOT NULL AS refused_again;
RESET SESSION AUTHORIZATION;
SELECT code IS NULL AS no_code, masked(role) AS role, action,
       left(objects, 60) AS objects_start, objects LIKE '% [...]' AS objects_cut,
       statement LIKE 'DROP TABLE reqs.a_table_whose_long_name_makes_the_request_large_1, %' AS statement_start,
       statement LIKE '% [...]' AS statement_cut, times
FROM agentguard.requests WHERE objects LIKE 'reqs.a_table_whose_long_name%' AND refused_at >= :'started';

-- who may read it: superusers (above), members of pg_monitor; not a plain
-- role, and no agent session, whatever its privileges
SET SESSION AUTHORIZATION ag_monitor;
SELECT count(*) AS monitor_reads FROM agentguard.requests WHERE objects IN ('reqs.a', 'reqs.b') AND refused_at >= :'started';
SET SESSION AUTHORIZATION ag_human;
SELECT try('SELECT count(*) FROM agentguard.requests');
SELECT try('SELECT count(*) FROM agentguard._requests()');
SET SESSION AUTHORIZATION ag_super;
SELECT try('SELECT count(*) FROM agentguard.requests');
RESET SESSION AUTHORIZATION;
DROP SCHEMA reqs CASCADE;

-- last, since the switch holds for the rest of the session: a pg_monitor
-- member that turns itself into an agent session is refused too
SET SESSION AUTHORIZATION ag_monitor;
SET agentguard.agent = on;
SELECT try('SELECT count(*) FROM agentguard.requests');
