-- Signed confirmations: a token approves exactly one refused statement,
-- once, from the role it names, before it expires; everything else is
-- refused with the binding that failed.  Tokens are made by the installed
-- agentguard program, as a DBA would.
\set VERBOSITY terse
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set alice_key :builddir '/results/alice.pem'
\set mallory_key :builddir '/results/mallory.pem'
\set alice_pub `rm -f :'alice_key' :'mallory_key'; agentguard keygen --out :'alice_key' 2>/dev/null`
\set mallory_pub `agentguard keygen --out :'mallory_key' 2>/dev/null`

-- signer management: superuser, not an agent, well-formed keys
SELECT agentguard.add_signer('alice', :'alice_pub');
SELECT agentguard.add_signer('alice', :'mallory_pub');
SELECT agentguard.add_signer('alice again', :'alice_pub');
SELECT agentguard.add_signer('bob', 'agk1.notakey');
SELECT agentguard.add_signer('bob', '-----BEGIN PRIVATE KEY-----');
SELECT agentguard.add_signer('', :'mallory_pub');
SELECT agentguard.remove_signer('nobody');
SET ROLE ag_human;
SELECT agentguard.add_signer('mallory', :'mallory_pub');
RESET ROLE;
SET SESSION AUTHORIZATION ag_super;
SELECT agentguard.add_signer('mallory', :'mallory_pub');
SELECT agentguard.remove_signer('alice');
RESET SESSION AUTHORIZATION;
SELECT name, public_key = :'alice_pub' AS alice_key, removed_at IS NULL AS active FROM agentguard.signers;

CREATE TABLE victim.conf_t(id int, v text);
INSERT INTO victim.conf_t SELECT g, 'v' || g FROM generate_series(1, 20) g;
CREATE TABLE victim.conf_u(id int);
INSERT INTO victim.conf_u SELECT generate_series(1, 5);
ALTER TABLE victim.conf_t OWNER TO ag_agent;
ALTER TABLE victim.conf_u OWNER TO ag_agent;
GRANT ALL ON victim.conf_t, victim.conf_u TO ag_member;
GRANT USAGE ON SCHEMA victim TO ag_member;

-- the whole loop: refused, signed, confirmed by the agent, run once
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT request_of('TRUNCATE conf_t') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed: role ' AS confirmed;
-- confirming the same token twice is harmless
SELECT agentguard.confirm(:'token') ~ '^confirmed: role ' AS confirmed_again;
TRUNCATE conf_t;
SELECT fingerprint('conf_t');
INSERT INTO conf_t SELECT g, 'v' || g FROM generate_series(1, 20) g;
-- once only: the same statement again is refused, and so is the token
SELECT try('TRUNCATE conf_t');
TRUNCATE conf_t;
SELECT agentguard.confirm(:'token');
SELECT fingerprint('conf_t');

-- a confirmation covers that statement and no other; the refusal says why
SELECT request_of('TRUNCATE conf_t') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT why('TRUNCATE conf_u');
SELECT why('TRUNCATE victim.conf_t');
SELECT why('DROP TABLE conf_t');
RESET SESSION AUTHORIZATION;
-- the request names the role that logged in: another login, even an agent
-- the same way, cannot use the confirmation
\c - ag_member
SET search_path = victim, public;
SELECT why('TRUNCATE conf_t');
\c - :dba
\set VERBOSITY terse
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT fingerprint('conf_t') AS conf_t, fingerprint('conf_u') AS conf_u;
-- a rollback after the token was accepted does not use it up, nor does
-- the statement failing
BEGIN;
TRUNCATE conf_t;
SELECT fingerprint('conf_t') AS inside_the_transaction;
ROLLBACK;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS still_waiting FROM agentguard.confirmations
WHERE used_at IS NULL AND objects = 'victim.conf_t';
CREATE VIEW victim.conf_u_view AS SELECT * FROM victim.conf_u;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT request_of('DROP TABLE conf_u') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE conf_u;
RESET SESSION AUTHORIZATION;
SELECT action, objects, used_at IS NULL AS unused FROM agentguard.confirmations
WHERE objects = 'victim.conf_u';
-- the DBA may confirm from a session of their own; the agent only retries
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed_by_dba;
DROP VIEW victim.conf_u_view;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT try('DROP TABLE conf_u');
RESET SESSION AUTHORIZATION;
CREATE TABLE victim.conf_u(id int);
INSERT INTO victim.conf_u SELECT generate_series(1, 5);
ALTER TABLE victim.conf_u OWNER TO ag_agent;

-- expired, and a lifetime above agentguard.max_token_ttl
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT request_of('TRUNCATE conf_u') AS code \gset
\set token `agentguard sign --key :'alice_key' --ttl 1s :'code' 2>/dev/null`
SELECT pg_sleep(2.1);
SELECT agentguard.confirm(:'token');
\set token `agentguard sign --key :'alice_key' --ttl 2h :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token');
RESET SESSION AUTHORIZATION;
SET agentguard.max_token_ttl = '3h';
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed_with_longer_limit;
RESET agentguard.max_token_ttl;
-- a waiting token is held to the limit in force when it is used
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT why('TRUNCATE conf_u');
RESET SESSION AUTHORIZATION;
DELETE FROM agentguard.confirmations WHERE used_at IS NULL;
-- a confirmed token that expires before the statement runs
\set token `agentguard sign --key :'alice_key' --ttl 2s :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT pg_sleep(2.1);
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT why('TRUNCATE conf_u');
RESET SESSION AUTHORIZATION;

-- signers: unknown, removed after confirming, a forged signature
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
\set token `agentguard sign --key :'mallory_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token');
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
RESET SESSION AUTHORIZATION;
SELECT agentguard.remove_signer('alice');
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT why('TRUNCATE conf_u');
SELECT agentguard.confirm(:'token');
RESET SESSION AUTHORIZATION;
SELECT agentguard.add_signer('alice', :'alice_pub');
SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
-- one character of the signed part changed
SELECT agentguard.confirm(overlay(:'token' placing
    CASE WHEN substr(:'token', 60, 1) = 'A' THEN 'B' ELSE 'A' END from 60 for 1));
-- one character of the signature changed
SELECT agentguard.confirm(overlay(:'token' placing
    CASE WHEN substr(:'token', length(:'token') - 20, 1) = 'A' THEN 'B' ELSE 'A' END
    from length(:'token') - 20 for 1));
SELECT fingerprint('conf_u');
-- and now it is back in force
TRUNCATE conf_u;
SELECT fingerprint('conf_u');
RESET SESSION AUTHORIZATION;

-- a token for another database is refused
CREATE DATABASE ag_other_db;
\c ag_other_db :dba
CREATE TABLE conf_t(i int);
INSERT INTO conf_t VALUES (1);
ALTER TABLE conf_t OWNER TO ag_agent;
CREATE FUNCTION request_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE detail text;
BEGIN
    EXECUTE stmt;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN substring(detail from 'request: (\S+)');
END $$;
\c ag_other_db ag_agent
SELECT request_of('TRUNCATE conf_t') AS code \gset
\c contrib_regression :dba
\set VERBOSITY terse
\set token `agentguard sign --key :'alice_key' --ttl 5m :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token');
DROP DATABASE ag_other_db;

-- malformed tokens get a clear error, never a crash
SELECT agentguard.confirm('');
SELECT agentguard.confirm('   ');
SELECT agentguard.confirm('agt1.');
SELECT agentguard.confirm('agt2.AAAA');
SELECT agentguard.confirm('agt1.@@@@');
SELECT agentguard.confirm('agt1.AQ');
SELECT agentguard.confirm('hello');
SELECT agentguard.confirm(:'code');
SELECT agentguard.confirm(:'alice_pub');
SELECT agentguard.confirm('agt1.' || repeat('A', 1000000));
SELECT agentguard.confirm('agt1.Ã©');
SELECT agentguard.confirm(left(:'token', 100));
SELECT agentguard.confirm(:'token' || 'AAAA');
SELECT agentguard.confirm(NULL) IS NULL AS null_is_null;
