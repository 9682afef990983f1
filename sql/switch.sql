-- agentguard.agent: any role may turn it on; nothing turns it off.
\set VERBOSITY terse
SELECT current_user AS dba \gset
CREATE TABLE victim.switched(i int);
INSERT INTO victim.switched VALUES (1), (2), (3);
SELECT agentguard.is_agent_session();
BEGIN;
SET LOCAL agentguard.agent = on;
SELECT agentguard.is_agent_session();
ROLLBACK;
SHOW agentguard.agent;
SELECT agentguard.is_agent_session();
SET agentguard.agent = off;
RESET agentguard.agent;
RESET ALL;
SELECT set_config('agentguard.agent', 'off', false);
SHOW agentguard.agent;
SELECT agentguard.is_agent_session();
DROP TABLE victim.switched;
TRUNCATE victim.switched;
SELECT fingerprint('victim.switched');
-- a superuser in such a session is as bound as any agent
SET agentguard.mode = 'off';
SECURITY LABEL FOR agentguard ON ROLE ag_human IS 'trusted';

-- any role may turn it on, in a session or for a role
\c - ag_human
SET agentguard.agent = on;
SHOW agentguard.agent;
\c - :dba
ALTER ROLE ag_human SET agentguard.agent = on;
\c - ag_human
\set VERBOSITY terse
SELECT agentguard.is_agent_session();
\c - :dba
ALTER ROLE ag_human RESET agentguard.agent;
\c - ag_human
SELECT agentguard.is_agent_session();
