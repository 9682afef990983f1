-- Two-person approval: agentguard.required_signatures is how many distinct
-- trusted signers a token needs.  A token short of them is refused with how
-- many are missing, and is not used up, so the same token co-signed is good;
-- the same signer twice counts once; a removed or unknown signer does not
-- count.  Tokens are made and co-signed by the installed agentguard program,
-- as DBAs would.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set carol_key :builddir '/results/carol.pem'
\set dave_key :builddir '/results/dave.pem'
\set erin_key :builddir '/results/erin.pem'
\set frank_key :builddir '/results/frank.pem'
\set carol_pub `rm -f :'carol_key' :'dave_key' :'erin_key' :'frank_key'; agentguard keygen --out :'carol_key' 2>/dev/null`
\set dave_pub `agentguard keygen --out :'dave_key' 2>/dev/null`
\set erin_pub `agentguard keygen --out :'erin_key' 2>/dev/null`
\set frank_pub `agentguard keygen --out :'frank_key' 2>/dev/null`
SELECT agentguard.add_signer('carol', :'carol_pub');
SELECT agentguard.add_signer('dave', :'dave_pub');
SELECT agentguard.add_signer('erin', :'erin_pub');

-- what confirm answers: SQLSTATE, message, DETAIL and HINT, with key ids
-- and times masked
CREATE FUNCTION public.confirm_outcome(token text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE state text; msg text; detail text; hint text;
BEGIN
    PERFORM agentguard.confirm(token);
    RETURN 'confirmed';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN state || ' ' || msg
        || E'\nDETAIL: ' || regexp_replace(regexp_replace(coalesce(detail, ''),
               '[0-9a-f]{16}', '<key id>', 'g'),
               '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<time>', 'g')
        || E'\nHINT: ' || coalesce(hint, '');
END $$;
GRANT EXECUTE ON FUNCTION public.confirm_outcome(text) TO PUBLIC;

-- the setting: 1 unless set, 1 to 5, for superusers, never from an agent
-- session (not even a superuser's, and not to lower it)
SHOW agentguard.required_signatures;
SET agentguard.required_signatures = 0;
SET agentguard.required_signatures = 6;
SET ROLE ag_human;
SET agentguard.required_signatures = 2;
RESET ROLE;
SET SESSION AUTHORIZATION ag_super;
SET agentguard.required_signatures = 2;
SELECT set_config('agentguard.required_signatures', '1', false);
RESET SESSION AUTHORIZATION;
SHOW agentguard.required_signatures;

CREATE TABLE public.sig_t(id int);
INSERT INTO public.sig_t SELECT generate_series(1, 10);
ALTER TABLE public.sig_t OWNER TO ag_agent;
-- what a DBA set for the agent's role applies in its sessions
ALTER ROLE ag_agent SET agentguard.required_signatures = 2;

\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SHOW agentguard.required_signatures;
SELECT request_of('TRUNCATE sig_t') AS code \gset
\set one `agentguard sign --key :'carol_key' --ttl 5m :'code' 2>/dev/null`
-- one signature of two: refused, with how many are missing
SELECT confirm_outcome(:'one');
-- and not used up: the statement is still refused, and nothing is waiting
SELECT try('TRUNCATE sig_t');
-- the same signer twice counts once
\set twice `agentguard sign --key :'carol_key' :'one' 2>/dev/null`
SELECT confirm_outcome(:'twice');
-- a removed signer does not count, nor a key nobody trusts
\c - :dba
SELECT agentguard.remove_signer('erin');
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
\set removed `agentguard sign --key :'erin_key' :'one' 2>/dev/null`
SELECT confirm_outcome(:'removed');
\set unknown `agentguard sign --key :'frank_key' :'one' 2>/dev/null`
SELECT confirm_outcome(:'unknown');
-- signed by no trusted signer at all: said as such
\set nobody `agentguard sign --key :'frank_key' --ttl 5m :'code' 2>/dev/null`
SELECT confirm_outcome(:'nobody');
-- a second trusted signer's signature altered: the token is forged
\set two `agentguard sign --key :'dave_key' :'one' 2>/dev/null`
SELECT confirm_outcome(overlay(:'two' PLACING CASE WHEN substr(:'two', length(:'two') - 40, 1) = 'A' THEN 'B' ELSE 'A' END
                               FROM length(:'two') - 40 FOR 1));
-- the second signer: confirmed, and the statement runs once
SELECT confirm_outcome(:'two');
TRUNCATE sig_t;
SELECT count(*) FROM sig_t;
SELECT confirm_outcome(:'two');

-- a token confirmed under one signature waits no longer once two are
-- required; the same token co-signed is confirmed again and runs
\c - :dba
ALTER ROLE ag_agent RESET agentguard.required_signatures;
INSERT INTO public.sig_t SELECT generate_series(1, 10);
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SHOW agentguard.required_signatures;
SELECT request_of('TRUNCATE sig_t') AS code \gset
\set one `agentguard sign --key :'carol_key' --ttl 5m :'code' 2>/dev/null`
SELECT confirm_outcome(:'one');
\c - :dba
ALTER ROLE ag_agent SET agentguard.required_signatures = 2;
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT why('TRUNCATE sig_t');
SELECT count(*) FROM sig_t;
\set two `agentguard sign --key :'dave_key' :'one' 2>/dev/null`
SELECT confirm_outcome(:'two');
TRUNCATE sig_t;
SELECT count(*) FROM sig_t;

-- three of five: two distinct signers are one short
\c - :dba
ALTER ROLE ag_agent SET agentguard.required_signatures = 3;
INSERT INTO public.sig_t SELECT generate_series(1, 10);
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT request_of('TRUNCATE sig_t') AS code \gset
\set one `agentguard sign --key :'carol_key' --ttl 5m :'code' 2>/dev/null`
\set two `agentguard sign --key :'dave_key' :'one' 2>/dev/null`
SELECT confirm_outcome(:'two');
SELECT try('TRUNCATE sig_t');

\c - :dba
ALTER ROLE ag_agent RESET agentguard.required_signatures;
SELECT signer, used_at IS NOT NULL AS used FROM agentguard.confirmations
WHERE objects = 'public.sig_t' ORDER BY confirmed_at;
SELECT event, regexp_replace(detail, '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<time>') AS detail
FROM agentguard.audit
WHERE event IN ('confirm', 'use') AND objects = 'public.sig_t' ORDER BY id;
DROP TABLE public.sig_t;
DROP FUNCTION public.confirm_outcome(text);
