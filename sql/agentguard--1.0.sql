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

-- Quarantine: what confirmed DROPs moved aside instead of destroying.
-- One entry per DROP statement; its members are every object that moved,
-- and its saved steps the SQL that puts back what lived on other tables.
CREATE SEQUENCE agentguard.quarantine_ids;
CREATE TABLE agentguard.quarantine_entries (
    id               bigint PRIMARY KEY,
    kind             text NOT NULL,
    original_schema  text NOT NULL,
    original_name    text NOT NULL,
    quarantined_as   text NOT NULL,
    dropped_by       text NOT NULL,
    dropped_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    statement        text
);
CREATE TABLE agentguard.quarantine_members (
    entry_id          bigint NOT NULL REFERENCES agentguard.quarantine_entries ON DELETE CASCADE,
    position          integer NOT NULL,
    sql_kind          text NOT NULL,
    moves_alone       boolean NOT NULL,
    original_schema   text NOT NULL,
    original_name     text NOT NULL,
    quarantined_name  text NOT NULL,
    args              text NOT NULL DEFAULT '',
    owner             text,         -- a quarantined schema's owner and grants,
    acl               text,         -- given back on restore
    PRIMARY KEY (entry_id, position)
);
CREATE TABLE agentguard.quarantine_saved (
    entry_id     bigint NOT NULL REFERENCES agentguard.quarantine_entries ON DELETE CASCADE,
    position     integer NOT NULL,
    description  text NOT NULL,
    restore_sql  text NOT NULL,
    run_as       text NOT NULL,     -- owner of the table the step alters
    PRIMARY KEY (entry_id, position)
);
REVOKE ALL ON agentguard.quarantine_entries, agentguard.quarantine_members,
    agentguard.quarantine_saved, agentguard.quarantine_ids FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('agentguard.quarantine_entries', '');
SELECT pg_catalog.pg_extension_config_dump('agentguard.quarantine_members', '');
SELECT pg_catalog.pg_extension_config_dump('agentguard.quarantine_saved', '');
SELECT pg_catalog.pg_extension_config_dump('agentguard.quarantine_ids', '');

-- Quarantined databases are recorded in their own comment, in the shared
-- catalog, so every database with the extension lists them; their id is
-- the database's OID, negated.
CREATE VIEW agentguard.quarantine AS
    SELECT id, kind, original_schema, original_name, quarantined_as,
           dropped_by, dropped_at, expires_at
    FROM agentguard.quarantine_entries
    UNION ALL
    SELECT -d.oid::bigint, 'database', NULL, r->>'original', quote_ident(d.datname),
           r->>'dropped_by', (r->>'dropped_at')::timestamptz, (r->>'expires_at')::timestamptz
    FROM pg_catalog.pg_database d
    JOIN pg_catalog.pg_shdescription s
      ON s.objoid = d.oid AND s.classoid = 'pg_catalog.pg_database'::regclass,
    LATERAL (SELECT s.description::jsonb AS r) j
    WHERE d.datname LIKE 'agentguard\_q%' AND s.description LIKE '{"agentguard": 1%'
    ORDER BY 1;
CREATE VIEW agentguard.quarantine_objects AS
    SELECT entry_id AS id, position, lower(sql_kind) AS kind, original_schema,
           original_name || args AS original_name,
           CASE WHEN sql_kind = 'SCHEMA' THEN quote_ident(quarantined_name)
                ELSE 'agentguard_quarantine.' || quote_ident(quarantined_name) || args
           END AS quarantined_as,
           moves_alone AS moved_by_itself
    FROM agentguard.quarantine_members
    ORDER BY entry_id, position;
GRANT SELECT ON agentguard.quarantine, agentguard.quarantine_objects TO PUBLIC;

CREATE FUNCTION agentguard.restore(id bigint, new_name text DEFAULT NULL) RETURNS text
    LANGUAGE C AS 'MODULE_PATHNAME', 'agentguard_restore';
CREATE FUNCTION agentguard.purge(id bigint) RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'agentguard_purge';
CREATE FUNCTION agentguard.purge_expired() RETURNS integer
    LANGUAGE C AS 'MODULE_PATHNAME', 'agentguard_purge_expired';
REVOKE ALL ON FUNCTION agentguard.purge(bigint), agentguard.purge_expired() FROM PUBLIC;
COMMENT ON FUNCTION agentguard.restore(bigint, text) IS
    'Put a quarantined object back as if it had never been dropped, optionally under a new name';
COMMENT ON FUNCTION agentguard.purge(bigint) IS
    'Destroy a quarantined entry for good (an agent session needs a confirmation)';
COMMENT ON FUNCTION agentguard.purge_expired() IS
    'Purge every entry past its expires_at; returns how many';

CREATE FUNCTION agentguard.is_agent_session() RETURNS boolean
    LANGUAGE C STABLE AS 'MODULE_PATHNAME', 'agentguard_is_agent_session';
COMMENT ON FUNCTION agentguard.is_agent_session() IS
    'Whether agentguard treats this session, as it is now, as an agent session';

-- Signers: the public keys whose tokens this database accepts.  Rows of
-- removed signers stay, so a token of a removed key is refused as such.
CREATE TABLE agentguard.signers (
    name        text PRIMARY KEY,
    public_key  text NOT NULL,
    key_id      bytea NOT NULL UNIQUE,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    text NOT NULL DEFAULT session_user,
    removed_at  timestamptz,
    removed_by  text
);

-- Every confirmed token, used or waiting.  The nonce is the token's
-- identity: the primary key is what makes a token single-use, across
-- sessions, restarts, crash recovery and a promoted standby.
CREATE TABLE agentguard.confirmations (
    nonce         bytea PRIMARY KEY,
    request_hash  bytea NOT NULL,
    request       bytea NOT NULL,
    token         text NOT NULL,
    role          text NOT NULL,
    action        text NOT NULL,
    objects       text NOT NULL,
    signer        text NOT NULL,
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    confirmed_at  timestamptz NOT NULL DEFAULT now(),
    confirmed_by  text NOT NULL DEFAULT session_user,
    used_at       timestamptz,
    used_by_pid   integer,
    target_relations oid[]        -- the tables the request named, when confirmed
);
CREATE INDEX confirmations_waiting ON agentguard.confirmations (request_hash)
    WHERE used_at IS NULL;

-- What DBAs and agents did with agentguard's help; agents cannot change it.
CREATE TABLE agentguard.audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    event     text NOT NULL,
    by_role   text NOT NULL DEFAULT session_user,
    database  text NOT NULL DEFAULT current_database(),
    action    text,
    objects   text,
    request   text,
    detail    text
);

REVOKE ALL ON agentguard.signers, agentguard.confirmations, agentguard.audit FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('agentguard.signers', '');
SELECT pg_catalog.pg_extension_config_dump('agentguard.confirmations', '');
SELECT pg_catalog.pg_extension_config_dump('agentguard.audit', '');
SELECT pg_catalog.pg_extension_config_dump('agentguard.audit_id_seq', '');

CREATE FUNCTION agentguard.add_signer(name text, public_key text) RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'agentguard_add_signer';
CREATE FUNCTION agentguard.remove_signer(name text) RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'agentguard_remove_signer';
CREATE FUNCTION agentguard.confirm(token text) RETURNS text
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'agentguard_confirm';
REVOKE ALL ON FUNCTION agentguard.add_signer(text, text), agentguard.remove_signer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentguard.confirm(text) TO PUBLIC;
COMMENT ON FUNCTION agentguard.add_signer(text, text) IS
    'Trust tokens signed by this Ed25519 public key (superuser, not from an agent session)';
COMMENT ON FUNCTION agentguard.remove_signer(text) IS
    'Stop trusting a signer; its tokens are refused from now on, confirmed or not';
COMMENT ON FUNCTION agentguard.confirm(text) IS
    'Verify a signed token; the one statement it names may then run once';

-- requests: recent refusals (refusals.c)
-- The refusals of the whole cluster, newest first, kept in shared memory
-- because a refusal rolls its own transaction back.  They show other
-- sessions' statements, so only superusers and pg_monitor may read them;
-- the function also refuses agent sessions, superusers' included.
CREATE FUNCTION agentguard._requests(
    OUT code text, OUT refused_at timestamptz, OUT role text, OUT database text,
    OUT action text, OUT objects text, OUT statement text, OUT times integer)
    RETURNS SETOF record
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'agentguard_requests';
CREATE VIEW agentguard.requests AS
    SELECT code, refused_at, role, database, action, objects, statement, times
    FROM agentguard._requests();
REVOKE ALL ON FUNCTION agentguard._requests() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentguard._requests() TO pg_monitor;
REVOKE ALL ON agentguard.requests FROM PUBLIC;
GRANT SELECT ON agentguard.requests TO pg_monitor;
COMMENT ON VIEW agentguard.requests IS
    'Recent refusals in this cluster, newest first; code is NULL for a request too large to keep';
