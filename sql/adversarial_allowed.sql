-- Adversarial, part 8 of 8, attempt [80]: first what is allowed on purpose
-- (not attempts), then harmless ALTER TYPE / ALTER DOMAIN statements that
-- crashed the server.  Last, since after a crash nothing runs; it cleans up
-- after all eight files.  Runs after the parts before it;
-- adversarial_identity sets the stage (schemas adv and adv_data,
-- adv.outcome(), adv.unchanged) and says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

---------------------------------------------------------------------------
-- allowed: documented.  Not destructive, or outside what agentguard
-- protects (docs/threat-model.md says why); none of these is an attempt.
---------------------------------------------------------------------------
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
-- rewrites that keep every row
VACUUM FULL accounts;
CLUSTER accounts USING accounts_pkey;
REINDEX TABLE accounts;
-- definitions that change, no data lost
ALTER TABLE accounts ALTER COLUMN owner SET DEFAULT 'nobody';
ALTER TABLE accounts ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;
ALTER TABLE accounts ADD PRIMARY KEY (id);
CREATE OR REPLACE VIEW rich AS SELECT * FROM accounts WHERE balance > 150;
CREATE OR REPLACE VIEW rich AS SELECT * FROM accounts WHERE balance > 100;
-- sequences: values jump, nothing is deleted
SELECT last_value AS invoice_last FROM invoice_no \gset
ALTER SEQUENCE invoice_no RESTART WITH 1000;
SELECT setval('invoice_no', :invoice_last);
-- the row limit is per statement: many small statements are many statements
BEGIN;
DO $$ BEGIN FOR i IN 0 .. 4 LOOP DELETE FROM adv_data.accounts WHERE id > i * 4 AND id <= (i + 1) * 4; END LOOP; END $$;
SELECT count(*) AS accounts_left FROM accounts;
ROLLBACK;
-- a WHERE clause that happens to match every row of a table smaller than
-- the limit, and a self-join
BEGIN;
DELETE FROM scratch WHERE i > 0;
MERGE INTO names n USING names m ON n.id = m.id WHEN MATCHED THEN DELETE;
ROLLBACK;
RESET search_path;

---------------------------------------------------------------------------
-- 9. A crash destroys too.  (Last: when it crashes, nothing after it runs.)
---------------------------------------------------------------------------
SELECT fingerprint('adv_data.big') AS big_before \gset
-- [80] BYPASS: ALTER TYPE / ALTER DOMAIN ... RENAME, OWNER TO and SET SCHEMA
-- are harmless, but in an agent session they crash the server, and crash
-- recovery empties every UNLOGGED table
ALTER DOMAIN adv_data.positive RENAME CONSTRAINT positive_check TO positive_check2;
ALTER DOMAIN adv_data.positive RENAME CONSTRAINT positive_check2 TO positive_check;
ALTER TYPE adv_data.mood RENAME TO mood2;
ALTER TYPE adv_data.mood2 RENAME TO mood;
ALTER DOMAIN adv_data.positive OWNER TO ag_agent;
ALTER TYPE adv_data.mood SET SCHEMA adv_q;
ALTER TYPE adv_q.mood SET SCHEMA adv_data;

\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT fingerprint('adv_data.big') = :'big_before' AS big_kept_its_rows,
       (SELECT count(*) FROM pg_type WHERE typname IN ('mood', 'positive')
        AND typnamespace = 'adv_data'::regnamespace) AS types_back;

-- clean up
SET client_min_messages = warning;
ALTER ROLE ag_agent RESET agentguard.max_rows;
ALTER ROLE ag_super RESET agentguard.max_rows;
DO $$ DECLARE e bigint; BEGIN
    FOR e IN SELECT id FROM agentguard.quarantine WHERE original_schema LIKE 'adv%' LOOP
        PERFORM agentguard.purge(e);
    END LOOP;
END $$;
DROP SCHEMA adv_data, adv_q, adv CASCADE;
REVOKE adv_owner FROM ag_agent;
DROP ROLE adv_owner;
RESET client_min_messages;
