-- Roles and helpers the other tests use.
CREATE EXTENSION agentguard;

CREATE ROLE ag_agent LOGIN;
CREATE ROLE ag_agent_group NOLOGIN;
CREATE ROLE ag_member LOGIN IN ROLE ag_agent_group;
CREATE ROLE ag_nested LOGIN IN ROLE ag_member;
CREATE ROLE ag_dba LOGIN;
CREATE ROLE ag_human LOGIN;
CREATE ROLE ag_super LOGIN SUPERUSER;
SECURITY LABEL FOR agentguard ON ROLE ag_agent IS 'agent';
SECURITY LABEL FOR agentguard ON ROLE ag_agent_group IS 'agent';
SECURITY LABEL FOR agentguard ON ROLE ag_super IS 'agent';
SECURITY LABEL FOR agentguard ON ROLE ag_dba IS 'trusted';
GRANT CREATE ON SCHEMA public TO ag_agent, ag_member, ag_nested, ag_human;
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO ag_agent, ag_human', current_database());
END $$;

-- Runs a statement and reports how it ended, with the refusal's parts
-- checked: SQLSTATE, message, a DETAIL line "request: <one word>", a HINT.
CREATE FUNCTION public.try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text;
BEGIN
    EXECUTE stmt;
    RETURN 'ran';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN state || ' ' || msg
        || CASE WHEN detail ~ '(^|\n)request: agr1\.[A-Za-z0-9_-]+(\n|$)'
                THEN ' [request]' ELSE '' END
        || CASE WHEN hint <> '' THEN ' [hint]' ELSE '' END;
END $$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;

-- Why a statement was refused: the message and the DETAIL without its
-- request line (which holds this cluster's identifier), times masked.
CREATE FUNCTION public.why(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE msg text; detail text;
BEGIN
    EXECUTE stmt;
    RETURN 'ran';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN msg || ' / ' || regexp_replace(
        regexp_replace(detail, '^request: \S+\n?', ''),
        '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<time>', 'g');
END $$;
GRANT EXECUTE ON FUNCTION public.why(text) TO PUBLIC;

-- The request code a statement is refused with, or NULL if it runs.
CREATE FUNCTION public.request_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE detail text;
BEGIN
    EXECUTE stmt;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN substring(detail from 'request: (\S+)');
END $$;
GRANT EXECUTE ON FUNCTION public.request_of(text) TO PUBLIC;

-- The bootstrap superuser's name is that of whoever ran initdb.
CREATE FUNCTION public.masked(name text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN name = (SELECT rolname FROM pg_roles WHERE oid = 10)
                THEN '<dba>' ELSE name END
$$;
GRANT EXECUTE ON FUNCTION public.masked(text) TO PUBLIC;

-- What a request says, with this cluster's identifier and the bootstrap
-- superuser's name masked.
CREATE FUNCTION public.shown(code text) RETURNS text
LANGUAGE sql AS $$
    SELECT regexp_replace(
        regexp_replace(agentguard.inspect(code), 'cluster: +[0-9]+', 'cluster:     <id>'),
        'role: +' || (SELECT rolname FROM pg_roles WHERE oid = 10) || '\n', 'role:        <dba>' || chr(10))
$$;
GRANT EXECUTE ON FUNCTION public.shown(text) TO PUBLIC;

-- A fingerprint of a table's contents, to show that nothing changed.
CREATE FUNCTION public.fingerprint(rel regclass) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE result text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(t::text, '','' ORDER BY t::text)), ''-'') FROM %s t', rel)
        INTO result;
    RETURN result;
END $$;
GRANT EXECUTE ON FUNCTION public.fingerprint(regclass) TO PUBLIC;

SELECT extname, extversion, nspname
FROM pg_extension JOIN pg_namespace n ON n.oid = extnamespace
WHERE extname = 'agentguard';
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'agentguard%' ORDER BY 1;
SELECT name, setting, context FROM pg_settings WHERE name LIKE 'agentguard.%' ORDER BY 1;
