-- agentguard 1.0
\echo Use "CREATE EXTENSION agentguard" to load this file. \quit

CREATE SCHEMA agentguard_quarantine;
REVOKE ALL ON SCHEMA agentguard_quarantine FROM PUBLIC;
GRANT USAGE ON SCHEMA agentguard TO PUBLIC;

-- fails with the preload message when the library was not preloaded
CREATE FUNCTION agentguard.preloaded() RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'agentguard_preloaded';
SELECT agentguard.preloaded();

CREATE FUNCTION agentguard.inspect(code text) RETURNS text
    LANGUAGE C STRICT STABLE AS 'MODULE_PATHNAME', 'agentguard_inspect';
COMMENT ON FUNCTION agentguard.inspect(text) IS
    'Describe a request code or token in plain words, as the agentguard program does';

CREATE FUNCTION agentguard.is_agent_session() RETURNS boolean
    LANGUAGE C STABLE AS 'MODULE_PATHNAME', 'agentguard_is_agent_session';
COMMENT ON FUNCTION agentguard.is_agent_session() IS
    'Whether agentguard treats this session, as it is now, as an agent session';
