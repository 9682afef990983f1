-- Who is an agent: labels, membership, SET ROLE, SESSION AUTHORIZATION,
-- superusers, and agentguard.scope.
\set VERBOSITY terse
SELECT current_user AS dba \gset
SELECT agentguard.is_agent_session() AS superuser_is_agent;

-- label values: exactly 'agent', 'trusted' and NULL
SECURITY LABEL FOR agentguard ON ROLE ag_human IS 'Agent';
SECURITY LABEL FOR agentguard ON ROLE ag_human IS '';
SECURITY LABEL FOR agentguard ON ROLE ag_human IS 'trusted';
SECURITY LABEL FOR agentguard ON ROLE ag_human IS NULL;
SECURITY LABEL ON ROLE ag_human IS 'agent';  -- the only provider is agentguard
SECURITY LABEL ON ROLE ag_human IS NULL;
CREATE TABLE labelled_table(i int);
SECURITY LABEL FOR agentguard ON TABLE labelled_table IS 'agent';
DROP TABLE labelled_table;
SELECT r.rolname, l.label FROM pg_shseclabel l JOIN pg_roles r ON r.oid = l.objoid
WHERE l.provider = 'agentguard' AND r.rolname LIKE 'ag\_%' ORDER BY 1;

-- labelling needs a superuser, even for a CREATEROLE role with ADMIN on
-- the role (the server's own check words it differently across versions)
CREATE ROLE ag_rolemaker CREATEROLE;
GRANT ag_human TO ag_rolemaker WITH ADMIN OPTION;
SET ROLE ag_rolemaker;
SELECT try($$SECURITY LABEL FOR agentguard ON ROLE ag_human IS 'trusted'$$) LIKE '42501 %' AS refused;
RESET ROLE;
DROP ROLE ag_rolemaker;

CREATE FUNCTION whoami() RETURNS text LANGUAGE sql AS
$$ SELECT masked(session_user) || '/' || masked(current_user) || ' agent=' || agentguard.is_agent_session() $$;

-- the labelled role itself, via SET SESSION AUTHORIZATION and via SET ROLE
SET SESSION AUTHORIZATION ag_agent;
SELECT whoami();
RESET SESSION AUTHORIZATION;
SET ROLE ag_agent;
SELECT whoami();
RESET ROLE;
SELECT whoami();

-- membership, direct and indirect
SET SESSION AUTHORIZATION ag_member;
SELECT whoami();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ag_nested;
SELECT whoami();
RESET SESSION AUTHORIZATION;

-- an agent that switches to a role without a label stays an agent
GRANT ag_human TO ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SET ROLE ag_human;
SELECT whoami();
RESET ROLE;
RESET SESSION AUTHORIZATION;
REVOKE ag_human FROM ag_agent;

-- superuser status alone is not membership of a labelled role
SELECT whoami();

-- a role's own label decides over what it inherits; agent wins over trusted
CREATE ROLE ag_trusted_group NOLOGIN;
SECURITY LABEL FOR agentguard ON ROLE ag_trusted_group IS 'trusted';
CREATE ROLE ag_both LOGIN IN ROLE ag_trusted_group, ag_agent_group;
CREATE ROLE ag_own_trusted LOGIN IN ROLE ag_agent_group;
SECURITY LABEL FOR agentguard ON ROLE ag_own_trusted IS 'trusted';
SET SESSION AUTHORIZATION ag_both;
SELECT whoami();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ag_own_trusted;
SELECT whoami();
RESET SESSION AUTHORIZATION;

-- labels and memberships changed now take effect at once
SET SESSION AUTHORIZATION ag_human;
SELECT whoami();
RESET SESSION AUTHORIZATION;
GRANT ag_agent_group TO ag_human;
SET SESSION AUTHORIZATION ag_human;
SELECT whoami();
RESET SESSION AUTHORIZATION;
REVOKE ag_agent_group FROM ag_human;
SET SESSION AUTHORIZATION ag_human;
SELECT whoami();
RESET SESSION AUTHORIZATION;
SECURITY LABEL FOR agentguard ON ROLE ag_human IS 'agent';
SET SESSION AUTHORIZATION ag_human;
SELECT whoami();
RESET SESSION AUTHORIZATION;
SECURITY LABEL FOR agentguard ON ROLE ag_human IS NULL;
SET SESSION AUTHORIZATION ag_human;
SELECT whoami();
RESET SESSION AUTHORIZATION;

-- scope = all: everyone but trusted roles.  Only a session whose login role
-- is labelled 'trusted' may set it, however it is set: a DBA whose login is
-- not trusted would lock their own sessions out
SELECT try($$SET agentguard.scope = 'all'$$);
SELECT try($$SELECT set_config('agentguard.scope', 'all', false)$$);
SELECT try($$ALTER ROLE ag_human SET agentguard.scope = 'all'$$);
ALTER SYSTEM SET agentguard.scope = 'all';
SELECT try($$CREATE FUNCTION scoped() RETURNS int LANGUAGE sql SET agentguard.scope = 'all' AS 'SELECT 1'$$);
SELECT whoami();
SET agentguard.scope = 'agents';
CREATE ROLE ag_trusted_super LOGIN SUPERUSER;
SECURITY LABEL FOR agentguard ON ROLE ag_trusted_super IS 'trusted';
\c - ag_trusted_super
SET agentguard.scope = 'all';
SELECT whoami();
SET SESSION AUTHORIZATION ag_human;
SELECT whoami();
RESET SESSION AUTHORIZATION;
RESET agentguard.scope;
-- set as role defaults by a trusted DBA, it applies when the roles log in
ALTER ROLE :"dba" SET agentguard.scope = 'all';
ALTER ROLE ag_dba SET agentguard.scope = 'all';
ALTER ROLE ag_human SET agentguard.scope = 'all';
\c - :dba
SELECT whoami();
-- the login role decides: a superuser cannot leave protection by becoming
-- a trusted role with SET SESSION AUTHORIZATION
SET SESSION AUTHORIZATION ag_dba;
SELECT whoami();
RESET SESSION AUTHORIZATION;
-- this session cannot go back: a trusted login is the way out
RESET agentguard.scope;
SELECT whoami();
\c - ag_dba
SELECT masked(session_user), agentguard.is_agent_session();
\c - ag_human
SELECT masked(session_user), agentguard.is_agent_session();
\c - ag_trusted_super
ALTER ROLE :"dba" RESET agentguard.scope;
ALTER ROLE ag_dba RESET agentguard.scope;
ALTER ROLE ag_human RESET agentguard.scope;
\c - :dba
\set VERBOSITY terse
SELECT whoami();
DROP ROLE ag_trusted_super;

-- an agent session of a superuser cannot change labels
SET SESSION AUTHORIZATION ag_super;
SELECT whoami();
SECURITY LABEL FOR agentguard ON ROLE ag_super IS NULL;
SECURITY LABEL FOR agentguard ON ROLE ag_human IS 'trusted';
RESET SESSION AUTHORIZATION;
SELECT r.rolname, l.label FROM pg_shseclabel l JOIN pg_roles r ON r.oid = l.objoid
WHERE l.provider = 'agentguard' AND r.rolname LIKE 'ag\_%' ORDER BY 1;

DROP ROLE ag_both, ag_own_trusted, ag_trusted_group;
DROP FUNCTION whoami();
