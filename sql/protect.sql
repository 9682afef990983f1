-- agentguard's own objects and the system catalogs cannot be changed from
-- an agent session, a superuser's included, except through agentguard's
-- functions; and no confirmation changes that.
\set VERBOSITY terse
SELECT current_user AS dba \gset
CREATE TABLE protect_before AS
SELECT (SELECT count(*) FROM agentguard.signers) AS signers,
       (SELECT count(*) FROM agentguard.confirmations) AS confirmations,
       (SELECT count(*) FROM agentguard.audit) AS audit,
       (SELECT count(*) FROM pg_shseclabel WHERE provider = 'agentguard') AS labels,
       (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM agentguard.audit c) AS audit_hash;
GRANT SELECT ON protect_before TO PUBLIC;
SELECT signers > 0 AS has_signers, confirmations > 0 AS has_confirmations, audit > 0 AS has_audit
FROM protect_before;
\c - ag_super
\set VERBOSITY terse
INSERT INTO agentguard.signers (name, public_key, key_id) VALUES ('evil', 'agk1.x', '\x00');
UPDATE agentguard.confirmations SET used_at = NULL;
DELETE FROM agentguard.audit;
WITH gone AS (DELETE FROM agentguard.audit RETURNING 1) SELECT count(*) FROM gone;
COPY agentguard.signers (name, public_key, key_id) FROM '/dev/null';
TRUNCATE agentguard.audit;
DROP TABLE agentguard.audit;
DROP SCHEMA agentguard CASCADE;
DROP SCHEMA agentguard_quarantine;
ALTER TABLE agentguard.audit ADD COLUMN x int;
ALTER TABLE agentguard.audit DISABLE TRIGGER ALL;
GRANT ALL ON agentguard.signers TO PUBLIC;
CREATE TABLE agentguard.extra(i int);
CREATE TABLE agentguard_quarantine.extra(i int);
CREATE FUNCTION agentguard.helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE OR REPLACE FUNCTION agentguard.confirm(token text) RETURNS text LANGUAGE sql AS 'SELECT ''confirmed''';
ALTER FUNCTION agentguard.confirm(text) OWNER TO ag_agent;
CREATE TRIGGER wipe BEFORE INSERT ON agentguard.audit FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
CREATE RULE ignore AS ON INSERT TO agentguard.audit DO INSTEAD NOTHING;
CREATE POLICY hide ON agentguard.audit USING (false);
ALTER SCHEMA agentguard RENAME TO not_agentguard;
ALTER SCHEMA agentguard_quarantine RENAME TO elsewhere;
ALTER TABLE agentguard.audit RENAME TO old_audit;
ALTER TABLE agentguard.audit SET SCHEMA public;
ALTER TABLE agentguard.audit OWNER TO ag_agent;
ALTER FUNCTION agentguard.confirm(text) RENAME TO confirm_old;
ALTER FUNCTION agentguard.confirm(text) SET SCHEMA public;
ALTER SCHEMA agentguard OWNER TO ag_agent;
ALTER TABLE agentguard.audit RENAME COLUMN detail TO d;
-- a schema of agentguard's name is agentguard's: an agent cannot make one,
-- nor rename one of its own to it
CREATE SCHEMA agentguard_fake;
BEGIN;
CREATE SCHEMA fake;
ALTER SCHEMA fake RENAME TO agentguard_fake;
ROLLBACK;
-- nor write the server's files, which hold its configuration
COPY (SELECT 'agentguard.mode = off') TO '/tmp/agentguard_should_not_exist.conf';
DELETE FROM pg_catalog.pg_shseclabel;
UPDATE pg_catalog.pg_authid SET rolsuper = rolsuper WHERE false;
DROP EXTENSION agentguard;
ALTER EXTENSION agentguard UPDATE;
LOAD 'agentguard';
COPY (SELECT 1) TO PROGRAM 'cat';
-- switching agentguard off does not switch its self-protection off
\c - :dba
ALTER ROLE ag_super SET agentguard.mode = 'off';
\c - ag_super
\set VERBOSITY terse
SHOW agentguard.mode;
ALTER SYSTEM SET agentguard.mode = 'off';
DELETE FROM agentguard.audit;
DROP EXTENSION agentguard;
TRUNCATE agentguard.audit;
\c - :dba
ALTER ROLE ag_super RESET agentguard.mode;
-- a non-superuser agent is told why, not only that it lacks the right
\c - ag_agent
\set VERBOSITY terse
SET agentguard.mode = 'off';
RESET agentguard.max_rows;
SET agentguard.agent = on;
\c - ag_super
\set VERBOSITY terse
GRANT ALL ON SCHEMA agentguard TO ag_agent;
GRANT ALL ON ALL TABLES IN SCHEMA agentguard TO ag_agent;
GRANT EXECUTE ON FUNCTION agentguard.add_signer(text, text) TO PUBLIC;
REVOKE ALL ON agentguard.audit FROM PUBLIC;
-- a confirmation does not help: the refusal carries no request
SELECT try('TRUNCATE agentguard.audit');
\c - :dba
SELECT b.signers = (SELECT count(*) FROM agentguard.signers) AS signers_kept,
       b.confirmations = (SELECT count(*) FROM agentguard.confirmations) AS confirmations_kept,
       b.audit = (SELECT count(*) FROM agentguard.audit) AS audit_kept,
       b.audit_hash = (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM agentguard.audit c) AS audit_unchanged,
       b.labels = (SELECT count(*) FROM pg_shseclabel WHERE provider = 'agentguard') AS labels_kept
FROM protect_before b;
SELECT nspname FROM pg_namespace WHERE nspname LIKE '%agentguard%' ORDER BY 1;
SELECT relname FROM pg_class WHERE relnamespace = 'agentguard'::regnamespace AND relkind = 'r' ORDER BY 1;
SELECT has_table_privilege('public', 'agentguard.signers', 'SELECT') AS public_reads_signers;
