-- Rehearsals: SET LOCAL agentguard.rehearse = on makes a transaction run its
-- destructive statements as if confirmed and record what each needs; no
-- way of committing it works, and nothing it did is left.  The batch code
-- it is refused with is signed once, and then each of its statements runs
-- once, in any order, over any transactions.
\set VERBOSITY terse
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set rita_key :builddir '/results/rita.pem'
\set rita_pub `rm -f :'rita_key'; agentguard keygen --out :'rita_key' 2>/dev/null`
SELECT agentguard.add_signer('rita', :'rita_pub');

CREATE SCHEMA mig;
CREATE TABLE mig.users(id int PRIMARY KEY, name text, legacy text);
INSERT INTO mig.users SELECT g, 'u' || g, 'l' || g FROM generate_series(1, 10) g;
CREATE TABLE mig.old_audit(id int);
INSERT INTO mig.old_audit SELECT generate_series(1, 5);
CREATE TABLE mig.events(id int, at int);
INSERT INTO mig.events SELECT g, g * 10 FROM generate_series(1, 20) g;
CREATE SEQUENCE mig.seq;
ALTER TABLE mig.users OWNER TO ag_agent;
ALTER TABLE mig.old_audit OWNER TO ag_agent;
ALTER TABLE mig.events OWNER TO ag_agent;
ALTER SEQUENCE mig.seq OWNER TO ag_agent;
GRANT USAGE ON SCHEMA mig TO ag_agent;
CREATE VIEW mig.state AS
    SELECT (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'mig.users'::regclass AND attnum > 0 AND NOT attisdropped) AS user_columns,
           fingerprint('mig.users') AS users,
           to_regclass('mig.old_audit') IS NOT NULL AS old_audit_exists,
           fingerprint('mig.events') AS events,
           (SELECT count(*) FROM pg_prepared_xacts) AS prepared;
GRANT SELECT ON mig.state TO PUBLIC;
SELECT * FROM mig.state \gset before_
SELECT * FROM mig.state;

-- on and off: only inside a transaction block, then on until it ends
SET agentguard.rehearse = on;
SET LOCAL agentguard.rehearse = on;
SELECT set_config('agentguard.rehearse', 'on', false);
SHOW agentguard.rehearse;
BEGIN;
SET LOCAL agentguard.rehearse = on;
SHOW agentguard.rehearse;
SAVEPOINT a;
SET LOCAL agentguard.rehearse = off;
ROLLBACK TO SAVEPOINT a;
SELECT set_config('agentguard.rehearse', 'off', true);
ROLLBACK TO SAVEPOINT a;
RESET agentguard.rehearse;
SHOW agentguard.rehearse;
ROLLBACK;
SHOW agentguard.rehearse;
-- a rollback to a savepoint taken before it was turned on leaves it on
BEGIN;
SAVEPOINT before_rehearsal;
SET LOCAL agentguard.rehearse = on;
ROLLBACK TO SAVEPOINT before_rehearsal;
SHOW agentguard.rehearse;
DROP TABLE mig.old_audit;
COMMIT;
SHOW agentguard.rehearse;
SELECT * FROM mig.state;
-- a procedure cannot begin one where each statement may commit on its own
CREATE PROCEDURE mig.rehearse_and_commit() LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL agentguard.rehearse = on;
    DROP TABLE mig.old_audit;
    COMMIT;
END $$;
CALL mig.rehearse_and_commit();
SELECT old_audit_exists FROM mig.state;
CREATE PROCEDURE mig.drop_and_commit() LANGUAGE plpgsql AS $$
BEGIN
    DROP TABLE mig.old_audit;
    COMMIT;
END $$;
GRANT EXECUTE ON PROCEDURE mig.drop_and_commit() TO ag_agent;

-- an agent's migration, rehearsed: it sees its own changes as it goes
SET SESSION AUTHORIZATION ag_agent;
SET search_path = mig, public;
BEGIN;
SET LOCAL agentguard.rehearse = on;
ALTER TABLE users DROP COLUMN legacy;
DROP TABLE old_audit;
DELETE FROM events;
SELECT count(*) AS events_left, to_regclass('old_audit') AS old_audit FROM events;
COMMIT;
SELECT * FROM mig.state;
RESET SESSION AUTHORIZATION;
SELECT (SELECT row(s.*)::text FROM mig.state s) = row(:'before_user_columns', :'before_users', :'before_old_audit_exists', :'before_events', :'before_prepared')::text AS nothing_changed;

-- the refusal is kept with the recent refusals, as one batch of requests
SELECT code AS batch FROM agentguard.requests WHERE code LIKE 'agb1.%' ORDER BY refused_at DESC LIMIT 1 \gset
SELECT masked(role) AS role, action, objects, statement, times
FROM agentguard.requests WHERE code = :'batch';
SELECT regexp_replace(regexp_replace(agentguard.inspect(:'batch'), 'cluster: +[0-9]+', 'cluster:     <id>', 'g'),
                      'role: +' || :'dba', 'role:        <dba>', 'g') AS inspected;
\set shown `agentguard inspect :'batch' | grep -c '^--- statement'`
SELECT :'shown' AS statements_the_cli_shows;

-- every other way to commit a rehearsal fails too, and leaves nothing
SET SESSION AUTHORIZATION ag_agent;
SET search_path = mig, public;
BEGIN;
SET LOCAL agentguard.rehearse = on;
DROP TABLE old_audit;
END;
BEGIN;
SET LOCAL agentguard.rehearse = on;
DROP TABLE old_audit;
COMMIT AND CHAIN;
SELECT count(*) AS outside_a_block FROM old_audit;
BEGIN;
SET LOCAL agentguard.rehearse = on;
DROP TABLE old_audit;
SAVEPOINT inner_work;
COMMIT;
BEGIN;
SET LOCAL agentguard.rehearse = on;
DROP TABLE old_audit;
PREPARE TRANSACTION 'rehearsed';
BEGIN;
SET LOCAL agentguard.rehearse = on;
COMMIT PREPARED 'rehearsed';
ROLLBACK;
-- the end of a multi-statement string commits it implicitly
SET LOCAL agentguard.rehearse = on \; DROP TABLE old_audit \; DELETE FROM events;
-- a procedure's or a DO block's COMMIT
BEGIN;
SET LOCAL agentguard.rehearse = on;
CALL mig.drop_and_commit();
ROLLBACK;
SET LOCAL agentguard.rehearse = on \; CALL mig.drop_and_commit();
BEGIN;
SET LOCAL agentguard.rehearse = on;
DO $$ BEGIN DROP TABLE mig.old_audit; COMMIT; END $$;
ROLLBACK;
SELECT * FROM mig.state;

-- what a rollback cannot take back is refused in a rehearsal
BEGIN;
SET LOCAL agentguard.rehearse = on;
SELECT nextval('seq') > 0 AS nextval_runs;
SAVEPOINT s;
SELECT setval('seq', 100);
ROLLBACK TO SAVEPOINT s;
SELECT currval('seq') < 100 AS not_set;
ROLLBACK;
RESET SESSION AUTHORIZATION;
BEGIN;
SET LOCAL agentguard.rehearse = on;
SAVEPOINT s;
COPY mig.events TO '/dev/null';
ROLLBACK TO SAVEPOINT s;
COPY mig.events TO PROGRAM 'cat > /dev/null';
ROLLBACK TO SAVEPOINT s;
SELECT pg_create_physical_replication_slot('rehearsed_slot');
ROLLBACK TO SAVEPOINT s;
SELECT pg_replication_origin_create('rehearsed_origin');
ROLLBACK;
SELECT count(*) AS slots FROM pg_replication_slots WHERE slot_name = 'rehearsed_slot';
SELECT count(*) AS origins FROM pg_replication_origin WHERE roname = 'rehearsed_origin';
-- no write to a foreign table, no dblink: another server's transaction is
-- not this one's.  Work postgres_fdw did before the rehearsal began is
-- rolled back with it: the refusal of the commit comes before postgres_fdw
-- commits its remote transaction, though it registered its callbacks last.
CREATE EXTENSION postgres_fdw;
CREATE EXTENSION dblink;
SELECT format('host=%s port=%s dbname=%s', split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port'), current_database()) AS loopback \gset
DO $$ BEGIN
    EXECUTE format('CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L)',
                   split_part(current_setting('unix_socket_directories'), ',', 1),
                   current_setting('port'), current_database());
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER loopback;
CREATE TABLE mig.remote(id int);
CREATE FOREIGN TABLE mig.remote_ft(id int) SERVER loopback OPTIONS (schema_name 'mig', table_name 'remote');
BEGIN;
SET LOCAL agentguard.rehearse = on;
SAVEPOINT s;
INSERT INTO mig.remote_ft VALUES (1);
ROLLBACK TO SAVEPOINT s;
SELECT dblink_exec(:'loopback', 'INSERT INTO mig.remote VALUES (1)');
ROLLBACK;
INSERT INTO mig.remote_ft VALUES (2) \; SET LOCAL agentguard.rehearse = on \; SELECT count(*) AS remote_rows_seen FROM mig.remote_ft;
BEGIN;
INSERT INTO mig.remote_ft VALUES (3);
SET LOCAL agentguard.rehearse = on;
SELECT count(*) AS remote_rows_seen FROM mig.remote_ft;
COMMIT;
SELECT count(*) AS remote_rows FROM mig.remote;
INSERT INTO mig.remote_ft VALUES (4);
SELECT count(*) AS remote_rows_outside_a_rehearsal FROM mig.remote;

-- a DBA's own rehearsal (nothing needs approval) cannot commit either
BEGIN;
SET LOCAL agentguard.rehearse = on;
DELETE FROM mig.events;
COMMIT;
SELECT events = :'before_events' AS events_kept FROM mig.state;

-- the batch, signed once, approves each of its statements once
\set token `agentguard sign --key :'rita_key' --ttl 5m :'batch' 2>/dev/null`
SET SESSION AUTHORIZATION ag_agent;
SET search_path = mig, public;
SELECT agentguard.confirm(:'token') ~ '^confirmed: role \S+ may run each of these 3 statements once' AS confirmed;
-- in another order, over two transactions
BEGIN;
DELETE FROM events;
DROP TABLE old_audit;
COMMIT;
ALTER TABLE users DROP COLUMN legacy;
SELECT user_columns, old_audit_exists, events FROM mig.state;
-- each once: the DELETE again is refused, and so is the token
INSERT INTO events SELECT g, g FROM generate_series(1, 20) g;
SELECT why('DELETE FROM events');
SELECT agentguard.confirm(:'token');
-- a statement outside the batch is refused as usual
SELECT try('DROP TABLE users');
RESET SESSION AUTHORIZATION;
-- what the batch's statements destroyed is kept in quarantine
SELECT kind, original_schema, original_name FROM agentguard.quarantine
WHERE original_schema = 'mig' ORDER BY kind, original_name;
SELECT event, action, objects FROM agentguard.audit
WHERE event IN ('confirm', 'use') AND objects LIKE 'mig.%' ORDER BY id;

SELECT agentguard.remove_signer('rita');
DROP SCHEMA mig CASCADE;
DROP SERVER loopback CASCADE;
DROP EXTENSION postgres_fdw;
DROP EXTENSION dblink;
