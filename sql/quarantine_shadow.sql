-- agentguard's own SQL reaches no code an agent planted.  The SQL that
-- quarantine, restore, purge and purge_expired run names its types,
-- functions and operators in pg_catalog, or reads the catalogs in C, and
-- runs with search_path pinned to pg_catalog, pg_temp; an agent's types
-- named jsonb, text, interval ... in pg_temp (searched first for types),
-- and its functions and operators in a schema put first on search_path,
-- are never reached.  Every path is driven by a non-superuser agent and by
-- a superuser agent, in their own connections with the plants in place,
-- and partly by a DBA whose search_path puts the agent's schema first.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

-- what planted code leaves if it ever runs: a row, and a sequence step
-- that survives the rollback of what ran it
CREATE TABLE public.planted_log (what text, by_role text);
GRANT INSERT ON public.planted_log TO PUBLIC;
CREATE SEQUENCE public.planted_runs;
GRANT USAGE ON SEQUENCE public.planted_runs TO PUBLIC;
CREATE FUNCTION public.planted(what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.nextval('public.planted_runs'::pg_catalog.regclass);
    INSERT INTO public.planted_log VALUES (what, current_user);
    RETURN true;
END $$;

CREATE TABLE shadow_kept_acl (acl aclitem[]);
-- everything the agent has, before and after (its objects come later)
SET check_function_bodies = off;
CREATE FUNCTION public.shadow_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'parent', fingerprint('shadow.parent')
    UNION ALL SELECT 'child', fingerprint('shadow.child')
    UNION ALL SELECT 'events', fingerprint('shadow.events')
    UNION ALL SELECT 'events_2025', fingerprint('shadow.events_2025')
    UNION ALL SELECT 'base', fingerprint('shadow.base')
    UNION ALL SELECT 'kid', fingerprint('shadow.kid')
    UNION ALL SELECT 'view', fingerprint('shadow.parent_view')
    UNION ALL SELECT 'function', (SELECT md5(string_agg(shadow.describe(p), ',' ORDER BY p.id)) FROM shadow.parent p)
    UNION ALL SELECT 'counter', (SELECT last_value || ' ' || is_called FROM shadow.counter)
    UNION ALL SELECT 'constraints', (SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), '; '
                                                       ORDER BY conrelid::regclass::text, conname)
                                     FROM pg_constraint WHERE connamespace = 'shadow'::regnamespace)
    UNION ALL SELECT 'defaults', (SELECT string_agg(adrelid::regclass || '.' || adnum || ' ' || pg_get_expr(adbin, adrelid), '; '
                                                    ORDER BY adrelid::regclass::text, adnum)
                                  FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'shadow'::regnamespace))
    UNION ALL SELECT 'parents', (SELECT string_agg(inhrelid::regclass || ' < ' || inhparent::regclass, ', ' ORDER BY inhrelid::regclass::text)
                                 FROM pg_inherits WHERE inhrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'shadow'::regnamespace))
    UNION ALL SELECT 'relations', (SELECT string_agg(relname || ':' || relkind::text || ':' || pg_get_userbyid(relowner) || ':' ||
                                                     coalesce(relacl::text, '-'), ' ' ORDER BY relname)
                                   FROM pg_class WHERE relnamespace = 'shadow'::regnamespace)
$$;
RESET check_function_bodies;

\set agent ag_agent
\set base 700
\i test/sql/quarantine_paths.psql

\set agent ag_super
\set base 800
\i test/sql/quarantine_paths.psql

-- every run of planted code, rolled back or not, left a sequence step: the
-- three reaches of each agent above, and nothing else
SELECT last_value AS planted_runs FROM planted_runs;
