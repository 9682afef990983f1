-- Adversarial, part 4 of 8, attempts [32]-[42]: agentguard's own state: its
-- tables, functions, grants, extension, schemas and sequences, and the
-- quarantine.  Runs after the parts before it; adversarial_identity sets
-- the stage (schemas adv and adv_data, adv.outcome(), adv.unchanged) and
-- says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set alice_key :builddir '/results/alice.pem'
\set sign 'agentguard sign --key ' :alice_key ' --ttl 5m'

---------------------------------------------------------------------------
-- 4. agentguard's own state.
---------------------------------------------------------------------------
CREATE TABLE adv.ledger_before AS
SELECT obj_description('agentguard.audit'::regclass) AS audit_comment,
       (SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = 'agentguard'::regnamespace) AS default_acls;
GRANT SELECT ON adv.ledger_before TO PUBLIC;
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [32] writes to its tables by other routes: MERGE, a view, a CTE
SELECT try($$MERGE INTO agentguard.signers s USING (SELECT 'alice' AS name) x ON s.name = x.name WHEN MATCHED THEN UPDATE SET removed_at = now()$$);
BEGIN;
CREATE VIEW adv.signers_view AS SELECT * FROM agentguard.signers;
SELECT try($$INSERT INTO adv.signers_view (name, public_key, key_id) VALUES ('agent', 'agk1.x', '\x00')$$);
ROLLBACK;
SELECT try('WITH x AS (UPDATE agentguard.confirmations SET used_at = NULL WHERE used_at IS NOT NULL RETURNING 1) SELECT count(*) FROM x');
SELECT try('INSERT INTO agentguard.audit (event, by_role) SELECT event, by_role FROM agentguard.audit LIMIT 1');
-- [33] replacing or changing its functions
SELECT try('CREATE OR REPLACE FUNCTION agentguard.is_agent_session() RETURNS boolean LANGUAGE sql AS ''SELECT false''');
SELECT try('ALTER FUNCTION agentguard.add_signer(text, text) SECURITY DEFINER');
SELECT try('ALTER FUNCTION agentguard.confirm(text) SET search_path = adv');
-- [34] grants on its objects
SELECT try('GRANT EXECUTE ON FUNCTION agentguard.purge(bigint) TO ag_agent');
SELECT try('GRANT INSERT ON agentguard.confirmations TO ag_agent');
SELECT try('REVOKE SELECT ON agentguard.quarantine FROM PUBLIC');
-- [35] the extension and its schemas
SELECT try('DROP EXTENSION IF EXISTS no_such_extension, agentguard');
SELECT try('ALTER EXTENSION agentguard DROP TABLE agentguard.audit');
SELECT try('DROP SCHEMA agentguard_quarantine CASCADE');
-- [36] BYPASS: inheriting from its tables: forged rows show up in
-- agentguard.audit, and a forged confirmation row replays a used token
CREATE TABLE adv.replayed(i int);
INSERT INTO adv.replayed SELECT generate_series(1, 3);
SELECT request_of('TRUNCATE adv.replayed') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE adv.replayed;
INSERT INTO adv.replayed SELECT generate_series(1, 3);
SELECT try('TRUNCATE adv.replayed');
SELECT adv.outcome('CREATE TABLE adv.forged_audit () INHERITS (agentguard.audit)') AS ignored \gset
SELECT adv.outcome($$INSERT INTO adv.forged_audit (id, event, by_role) VALUES (-1, 'add_signer', 'alice')$$) AS ignored \gset
CREATE TABLE adv.forged (LIKE agentguard.confirmations);
SELECT adv.outcome('ALTER TABLE adv.forged INHERIT agentguard.confirmations') AS ignored \gset
INSERT INTO adv.forged SELECT nonce, request_hash, request, token, role, action, objects, signer,
    issued_at, expires_at + interval '1 day', confirmed_at, confirmed_by, NULL, NULL
FROM agentguard.confirmations WHERE token = :'token';
SELECT adv.outcome('TRUNCATE adv.replayed') AS ignored \gset
SELECT count(*) AS replayed_rows FROM adv.replayed;
SELECT count(*) = (SELECT count(*) FROM ONLY agentguard.audit) AS audit_has_only_its_own_rows FROM agentguard.audit;
-- [37] BYPASS: replacing a pg_catalog function that agentguard's own SQL
-- calls (clock_timestamp) makes an expired confirmation usable
CREATE TABLE adv.clocked(i int);
INSERT INTO adv.clocked SELECT generate_series(1, 3);
SELECT request_of('TRUNCATE adv.clocked') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 2s :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT pg_sleep(2.5);
SELECT try('TRUNCATE adv.clocked');
BEGIN;
SELECT adv.outcome($$CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS 'SELECT ''2000-01-01''::timestamptz'$$) AS ignored \gset
SELECT adv.outcome('TRUNCATE adv.clocked') AS ignored \gset
SELECT count(*) AS clocked_rows FROM adv.clocked;
ROLLBACK;
-- [38] BYPASS: setval, COMMENT and default privileges change its objects
SELECT last_value AS q_last, is_called AS q_called FROM agentguard.quarantine_ids \gset
SELECT adv.outcome($$SELECT setval('agentguard.quarantine_ids', 424242)$$) AS ignored \gset
-- the same constant in a subquery, in an inlined SQL function, and to nextval
SELECT try($$SELECT 1 FROM (SELECT setval('agentguard.quarantine_ids', 424242)) s$$);
CREATE FUNCTION adv.renumber() RETURNS bigint LANGUAGE sql AS $$SELECT pg_catalog.setval('agentguard.quarantine_ids', 424242)$$;
SELECT try('SELECT adv.renumber()');
SELECT try($$SELECT nextval('agentguard.quarantine_ids') FROM generate_series(1, 3)$$);
SELECT adv.outcome($$COMMENT ON TABLE agentguard.audit IS 'nothing to see'$$) AS ignored \gset
SELECT adv.outcome(format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA agentguard GRANT ALL ON TABLES TO ag_agent', :'dba')) AS ignored \gset
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT (SELECT last_value FROM agentguard.quarantine_ids) = :q_last AS quarantine_ids_unchanged,
       b.audit_comment IS NOT DISTINCT FROM obj_description('agentguard.audit'::regclass) AS comment_unchanged,
       b.default_acls = (SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = 'agentguard'::regnamespace) AS default_acls_unchanged
FROM adv.ledger_before b;
SET client_min_messages = warning;
DO $$ BEGIN
    COMMENT ON TABLE agentguard.audit IS NULL;
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA agentguard REVOKE ALL ON TABLES FROM ag_agent', current_user);
    DROP TABLE IF EXISTS adv.forged, adv.forged_audit;
    DROP FUNCTION adv.renumber();
END $$;
RESET client_min_messages;
SELECT setval('agentguard.quarantine_ids', :q_last, :'q_called') AS ignored \gset
DROP TABLE adv.replayed, adv.clocked, adv.ledger_before;
SELECT * FROM adv.unchanged;

---------------------------------------------------------------------------
-- 5. The quarantine.
---------------------------------------------------------------------------
CREATE SCHEMA adv_q AUTHORIZATION ag_agent;
CREATE TABLE adv_q.kept(id int, v text);
INSERT INTO adv_q.kept SELECT g, 'k' || g FROM generate_series(1, 5) g;
ALTER TABLE adv_q.kept OWNER TO ag_agent;
CREATE TABLE adv.kept_before AS SELECT fingerprint('adv_q.kept') AS f;
GRANT SELECT ON adv.kept_before TO PUBLIC;
SET agentguard.quarantine_drops = 'all';
DROP TABLE adv_q.kept;
RESET agentguard.quarantine_drops;
SELECT id AS qid, quarantined_as AS qname FROM agentguard.quarantine WHERE original_schema = 'adv_q' \gset
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- [39] the quarantined table itself; the quarantine schema is closed to
-- non-superusers, and a superuser agent is refused
SELECT try(format('DROP TABLE %s', :'qname'));
SELECT try(format('DELETE FROM %s WHERE true', :'qname'));
-- [40] purging it without a confirmation
SELECT adv.no_ids(try(format('SELECT agentguard.purge(%s)', :qid))) AS try;
\c - ag_super
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT try(format('DROP TABLE %s', :'qname'));
SELECT try(format('TRUNCATE %s', :'qname'));
SELECT try(format('DELETE FROM %s WHERE true', :'qname'));
SELECT try(format('ALTER TABLE %s SET SCHEMA adv_q', :'qname'));
SELECT try(format('ALTER TABLE %s RENAME TO stolen', :'qname'));
SELECT adv.no_ids(try(format('SELECT agentguard.purge(%s)', :qid))) AS try;
SELECT try('SELECT agentguard.purge_expired()');
SELECT try(format('DELETE FROM agentguard.quarantine_entries WHERE id = %s', :qid));
-- [41] restoring over a table that took its name changes nothing
BEGIN;
CREATE TABLE adv_q.kept(other int);
SELECT adv.no_ids(try(format('SELECT agentguard.restore(%s)', :qid))) AS try;
DROP TABLE adv_q.kept;
COMMIT;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
-- allowed: documented: restoring destroys nothing, and puts it back as it was
SELECT agentguard.restore(:qid);
SELECT fingerprint('adv_q.kept') = f AS kept_as_it_was FROM adv.kept_before;

-- [42] BYPASS: agentguard.restore runs the agent's own code (here in a
-- partition key) as the extension's owner, with agentguard looking away:
-- it truncates a table the agent may not even read, and adds a signer
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE adv.dba_secret(i int);
INSERT INTO adv.dba_secret SELECT generate_series(1, 5);
CREATE TABLE adv.secret_before AS
SELECT fingerprint('adv.dba_secret') AS f, (SELECT count(*) FROM agentguard.signers) AS signers;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE adv_q.armed(yes boolean);
CREATE FUNCTION adv_q.payload() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'TRUNCATE adv.dba_secret';
    EXECUTE $sql$INSERT INTO agentguard.signers (name, public_key, key_id)
                 VALUES ('adv_evil', 'agk1.x', '\x01') ON CONFLICT DO NOTHING$sql$;
END $$;
CREATE FUNCTION adv_q.bucket(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF EXISTS (SELECT FROM adv_q.armed) THEN
        PERFORM adv_q.payload();
    END IF;
    RETURN i;
END $$;
CREATE TABLE adv_q.parts(i int) PARTITION BY RANGE (adv_q.bucket(i));
CREATE TABLE adv_q.parts_1 PARTITION OF adv_q.parts FOR VALUES FROM (0) TO (100);
INSERT INTO adv_q.parts VALUES (1);
-- a DBA approves dropping one partition
SELECT request_of('DROP TABLE adv_q.parts_1') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE adv_q.parts_1;
SELECT id AS pid FROM agentguard.quarantine WHERE original_name = 'parts_1' \gset
INSERT INTO adv_q.armed VALUES (true);
SELECT adv.outcome(format('SELECT agentguard.restore(%s)', :pid)) AS ignored \gset
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT fingerprint('adv.dba_secret') = f AS secret_unchanged,
       (SELECT count(*) FROM agentguard.signers) = signers AS signers_unchanged
FROM adv.secret_before;
DO $$ BEGIN
    DELETE FROM agentguard.signers WHERE name = 'adv_evil';
    DELETE FROM adv_q.armed;
END $$;
DROP TABLE adv.dba_secret, adv.secret_before, adv.kept_before;
SELECT * FROM adv.unchanged;
