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
    used_by_pid   integer
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
