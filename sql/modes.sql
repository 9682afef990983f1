-- agentguard.mode: observe lets statements run with a warning that carries
-- the request; off does nothing.  Settings cannot be changed from an agent
-- session, not even a superuser's.
\set VERBOSITY terse
SELECT current_user AS dba \gset
SET search_path = victim, public;
CREATE TABLE observed(i int);
INSERT INTO observed SELECT generate_series(1, 10);
ALTER TABLE observed OWNER TO ag_agent;

ALTER ROLE ag_agent SET agentguard.mode = 'observe';
\c - ag_agent
\set VERBOSITY terse
SHOW agentguard.mode;
SELECT try('TRUNCATE victim.observed');
SELECT fingerprint('victim.observed');
\c - :dba
\set VERBOSITY terse
ALTER ROLE ag_agent SET agentguard.mode = 'off';
\c - ag_agent
\set VERBOSITY terse
INSERT INTO victim.observed VALUES (1);
DROP TABLE victim.observed;
SELECT to_regclass('victim.observed');
\c - :dba
ALTER ROLE ag_agent SET agentguard.mode = 'enforce';
ALTER ROLE ag_human SET agentguard.agent = on;
\c - ag_super
\set VERBOSITY terse

-- an agent session of a superuser cannot change any agentguard setting
SELECT agentguard.is_agent_session();
SET agentguard.mode = 'off';
SET agentguard.mode = 'enforce';
BEGIN;
SET LOCAL agentguard.mode = 'off';
ROLLBACK;
SELECT set_config('agentguard.mode', 'off', false);
SET agentguard.scope = 'agents';
SET agentguard.max_rows = 0;
SET agentguard.max_token_ttl = '1d';
SET agentguard.quarantine_drops = 'off';
SET agentguard.retention = '1 second';
ALTER ROLE ag_super SET agentguard.mode = 'off';
ALTER DATABASE contrib_regression SET agentguard.mode = 'off';
ALTER ROLE ag_agent RESET agentguard.mode;
ALTER ROLE ag_agent RESET ALL;
ALTER ROLE ag_human SET agentguard.agent = off;
ALTER ROLE ag_human RESET agentguard.agent;
ALTER DATABASE contrib_regression RESET agentguard.mode;
ALTER ROLE ag_super IN DATABASE contrib_regression SET agentguard.mode = 'off';
-- turning the switch on for a role is the one change allowed
ALTER ROLE ag_member SET agentguard.agent = on;
ALTER ROLE ag_member RESET agentguard.agent;
CREATE FUNCTION escape() RETURNS void LANGUAGE sql SET agentguard.mode = 'off' AS 'SELECT';
ALTER SYSTEM SET agentguard.mode = 'off';
SHOW agentguard.mode;
SELECT name, setting FROM pg_settings WHERE name LIKE 'agentguard.%' AND setting <> boot_val;
\c - :dba
SELECT masked(r.rolname), s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole ORDER BY 1;
ALTER ROLE ag_agent RESET agentguard.mode;
ALTER ROLE ag_member RESET agentguard.agent;
ALTER ROLE ag_human RESET agentguard.agent;
\set VERBOSITY terse

-- a DBA's session changes them, and bad values are refused with a reason
SET agentguard.retention = '3 days';
SET agentguard.retention = 'next tuesday';
SET agentguard.retention = '-1 day';
SET agentguard.max_rows = -1;
SET agentguard.mode = 'lenient';
SET agentguard.max_requests = 5;
SET agentguard.environment = 'production';
SET agentguard.mode = 'observe';
SHOW agentguard.mode;

