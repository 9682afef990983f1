-- Leaves the server as the suite found it, so that make installcheck can
-- run against a running server again: the databases the tests made (and
-- their quarantined copies), then what their roles own here, then the
-- roles.  pg_regress drops this database itself before the next run.  The
-- statements are not echoed: which ones run depends on what is left.
\set ECHO none
SET client_min_messages = warning;
\o /dev/null
SELECT format('DROP DATABASE %I', datname) FROM pg_database
WHERE datname ~ '^(agentguard_q[0-9]+_)?(ag_[a-z_]*db|ag_update|botdb)$' \gexec
SELECT format('DROP OWNED BY %s CASCADE', string_agg(quote_ident(rolname), ', ')) FROM pg_roles
WHERE rolname ~ '^(ag|adv|bs)_' \gexec
SELECT format('DROP ROLE %I', rolname) FROM pg_roles WHERE rolname ~ '^(ag|adv|bs)_' \gexec
\o
\set ECHO all
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname ~ '^(ag|adv|bs)_';
SELECT count(*) AS databases_left FROM pg_database
WHERE datname ~ '^(agentguard_q[0-9]+_)?(ag_[a-z_]*db|ag_update|botdb)$';
