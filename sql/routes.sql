-- The same destructive statement reached any other way is caught the same.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = victim, public;

-- functions in SQL and PL/pgSQL, procedures, DO, EXECUTE
CREATE FUNCTION sql_dropper() RETURNS void LANGUAGE sql AS 'DROP TABLE victim.orders CASCADE';
CREATE FUNCTION plpgsql_truncater() RETURNS void LANGUAGE plpgsql AS
$$ BEGIN TRUNCATE victim.orders CASCADE; END $$;
CREATE FUNCTION dynamic(stmt text) RETURNS void LANGUAGE plpgsql AS
$$ BEGIN EXECUTE stmt; END $$;
CREATE PROCEDURE proc_dropper() LANGUAGE plpgsql AS
$$ BEGIN ALTER TABLE victim.orders DROP COLUMN note; COMMIT; END $$;
-- owned by a superuser, run with its rights
CREATE FUNCTION definer_dropper() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS
$$ BEGIN DROP TABLE victim.orders CASCADE; END $$;
-- a function that catches the refusal still does not get its way
CREATE FUNCTION swallow() RETURNS text LANGUAGE plpgsql AS
$$ BEGIN DROP TABLE victim.orders CASCADE; RETURN 'dropped';
   EXCEPTION WHEN insufficient_privilege THEN RETURN 'caught: ' || SQLERRM; END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA victim TO PUBLIC;

SET SESSION AUTHORIZATION ag_agent;
SET search_path = victim, public;
SELECT sql_dropper();
SELECT plpgsql_truncater();
SELECT dynamic('DROP TABLE victim.orders CASCADE');
SELECT dynamic('TRUNCATE victim.measurements');
CALL proc_dropper();
DO $$ BEGIN DROP SEQUENCE victim.order_seq; END $$;
DO $$ BEGIN EXECUTE 'DROP SCHEMA victim CASCADE'; END $$;
DO $$ BEGIN EXECUTE format('DROP %s %I.%I', 'TABLE', 'victim', 'orders'); END $$;
SELECT definer_dropper();
SELECT swallow();
-- the request names the inner statement
SELECT shown(request_of('SELECT victim.dynamic(''TRUNCATE victim.orders'')'));
-- several statements in one string: each is judged, the request names one
SELECT 1 \; TRUNCATE victim.orders \; SELECT 2;
SELECT shown(request_of('SELECT 1; TRUNCATE victim.orders ;
  SELECT 2'));
SELECT shown(request_of('SELECT 1; /* tidy /* nested */ up */ -- now
  TRUNCATE victim.orders ; SELECT 2'));
RESET SESSION AUTHORIZATION;

-- a session whose login role is not an agent, after SET ROLE to an agent
SET SESSION AUTHORIZATION ag_human;
SELECT agentguard.is_agent_session();
RESET SESSION AUTHORIZATION;
GRANT ag_agent TO ag_dba;
SET SESSION AUTHORIZATION ag_dba;
SELECT agentguard.is_agent_session();
SET ROLE ag_agent;
SELECT agentguard.is_agent_session();
DROP TABLE victim.orders CASCADE;
-- the request still names the role that logged in
SELECT shown(request_of('TRUNCATE victim.orders'));
RESET ROLE;
RESET SESSION AUTHORIZATION;
REVOKE ag_agent FROM ag_dba;

-- nothing changed
SELECT fingerprint('victim.orders') AS orders, fingerprint('victim.measurements') AS measurements;
SELECT count(*) AS orders_columns FROM pg_attribute
WHERE attrelid = 'victim.orders'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT to_regclass('victim.order_seq') IS NOT NULL AS sequence_kept;
