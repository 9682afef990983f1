-- Adversarial, part 7 of 8, attempts [69]-[79]: confirmation tokens forged,
-- tampered with, misdirected and reused.  Runs after the parts before it;
-- adversarial_identity sets the stage (schemas adv and adv_data,
-- adv.outcome(), adv.unchanged) and says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set alice_key :builddir '/results/alice.pem'
\set mallory_key :builddir '/results/mallory.pem'
\set sign 'agentguard sign --key ' :alice_key ' --ttl 5m'

---------------------------------------------------------------------------
-- 8. Tokens: forged, tampered, misdirected, reused.
---------------------------------------------------------------------------
CREATE FUNCTION adv.b64url_decode(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT decode(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4), 'base64') $$;
CREATE FUNCTION adv.b64url_encode(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT rtrim(translate(replace(encode(b, 'base64'), E'\n', ''), '+/', '-_'), '=') $$;
-- a request code with one part replaced: the cluster, or the environment,
-- database or role (the layout is in src/request.h)
CREATE FUNCTION adv.tamper(code text, part text, value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    body bytea := adv.b64url_decode(substr(code, 6));
    pos int := 9;
    len int;
    parts text[] := ARRAY['environment', 'database', 'role'];
BEGIN
    IF part = 'cluster' THEN
        RETURN 'agr1.' || adv.b64url_encode(overlay(body PLACING '\x0102030405060708'::bytea FROM 2 FOR 8));
    END IF;
    FOR i IN 1 .. 3 LOOP
        len := get_byte(body, pos) * 256 + get_byte(body, pos + 1);
        IF parts[i] = part THEN
            RETURN 'agr1.' || adv.b64url_encode(substr(body, 1, pos)
                || int2send(octet_length(convert_to(value, 'UTF8'))::int2)
                || convert_to(value, 'UTF8') || substr(body, pos + 3 + len));
        END IF;
        pos := pos + 2 + len;
    END LOOP;
    RAISE EXCEPTION 'no part %', part;
END $$;
-- the same token with one character of its signature changed
CREATE FUNCTION adv.bad_signature(token text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT overlay(token PLACING CASE WHEN substr(token, length(token) - 40, 1) = 'A' THEN 'B' ELSE 'A' END
                  FROM length(token) - 40 FOR 1) $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA adv TO PUBLIC;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
SELECT request_of('TRUNCATE scratch') AS code \gset
\set token `:sign :'code' 2>/dev/null`
-- [69] random bytes, not a token, one of absurd length, a cut one
SELECT try($$SELECT agentguard.confirm('agt1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$);
SELECT try($$SELECT agentguard.confirm('not a token at all')$$);
SELECT try($$SELECT agentguard.confirm('agt1.' || repeat('A', 200000))$$);
SELECT try(format('SELECT agentguard.confirm(%L)', left(:'token', 5 + (length(:'token') - 25) / 4 * 4)));
-- [70] a token whose signature was changed
SELECT try(format('SELECT agentguard.confirm(%L)', adv.bad_signature(:'token')));
-- [71] a token whose request was changed after signing (its role)
SELECT try(format('SELECT agentguard.confirm(%L)',
    'agt1.' || adv.b64url_encode(overlay(adv.b64url_decode(substr(:'token', 6))
        PLACING convert_to('ag_agenX', 'UTF8')
        FROM position(convert_to('ag_agent', 'UTF8') IN adv.b64url_decode(substr(:'token', 6)))))));
-- [72] a token signed by a key the database does not trust
\set other `agentguard sign --key :'mallory_key' --ttl 5m :'code' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
-- [73] signed tokens for another cluster, environment and database
SELECT adv.tamper(:'code', 'cluster', '') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
SELECT adv.tamper(:'code', 'environment', 'production') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
SELECT adv.tamper(:'code', 'database', 'postgres') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
-- [74] a token for another role is confirmed, but does not let this login
-- run the statement
SELECT adv.tamper(:'code', 'role', 'ag_member') AS forged \gset
\set other `:sign :'forged' 2>/dev/null`
SELECT agentguard.confirm(:'other') ~ '^confirmed' AS confirmed_for_another_role;
SELECT try('TRUNCATE scratch');
-- [75] a token living longer than agentguard.max_token_ttl, and an expired one
\set other `agentguard sign --key :'alice_key' --ttl 2h :'code' 2>/dev/null`
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
\set other `agentguard sign --key :'alice_key' --ttl 1s :'code' 2>/dev/null`
SELECT pg_sleep(1.5);
SELECT try(format('SELECT agentguard.confirm(%L)', :'other'));
-- the real token, confirmed and waiting
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
-- [76] it does not cover the statement with other white space, other case,
-- a comment in or after it, a marker, another table, or the same text naming
-- another table (a comment before it is not part of the statement)
SELECT try('TRUNCATE  scratch');
SELECT try('truncate scratch');
SELECT try('TRUNCATE scratch -- approved');
SELECT try('TRUNCATE /* agentguard:approved */ scratch');
SELECT try('TRUNCATE scratch, payroll');
SET search_path = adv, adv_data, public;
SELECT try('TRUNCATE scratch');
SET search_path = adv_data, public;
-- [77] ... nor a multi-statement string that hides a second TRUNCATE; all
-- of it rolls back and the token stays unused
TRUNCATE scratch \; TRUNCATE payroll;
SELECT count(*) AS scratch_rows, (SELECT count(*) FROM payroll) AS payroll_rows FROM scratch;
-- [78] BYPASS: the token names the table, not the object: swap the names
-- and it truncates another table
BEGIN;
ALTER TABLE scratch RENAME TO scratch_real;
ALTER TABLE payroll RENAME TO scratch;
SELECT adv.outcome('TRUNCATE scratch');
SELECT count(*) AS payroll_rows FROM scratch;
ROLLBACK;
-- allowed: documented: what the token was signed for runs once ...
TRUNCATE scratch;
INSERT INTO scratch VALUES (1);
-- [79] ... and never again
SELECT try('TRUNCATE scratch');
SELECT try(format('SELECT agentguard.confirm(%L)', :'token'));
SELECT count(*) AS scratch_rows FROM scratch;
RESET search_path;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT fingerprint('adv.scratch') AS dba_scratch;
SELECT * FROM adv.unchanged;
