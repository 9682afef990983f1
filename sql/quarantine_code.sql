-- A restore runs no code an agent planted after its rows went into
-- quarantine: the rows of a TRUNCATE go back in replica mode, so ordinary
-- triggers and rules do not fire and the rows come back as they were, and
-- before anything moves, restore refuses, naming what it found, when a
-- trigger or rule would fire anyway, row-level security is forced, or an
-- expression it would evaluate (checks, defaults, domains, indexes,
-- partition keys) calls code an agent can write, a built-in that runs code
-- it is handed, or a volatile built-in.  Attaching a partition back gets
-- the same check.  Every refusal changes nothing; every restore brings back
-- every row as it was.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'
SELECT setval('agentguard.quarantine_ids', 900);

-- how a restore ended: what it restored, or its error with the DETAIL
CREATE FUNCTION public.restored(entry bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE state text; msg text; detail text;
BEGIN
    RETURN agentguard.restore(entry);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ' ' || msg || coalesce(E'\n' || nullif(detail, ''), '');
END $$;
GRANT EXECUTE ON FUNCTION public.restored(bigint) TO PUBLIC;

CREATE SCHEMA code AUTHORIZATION ag_agent;
SET SESSION AUTHORIZATION ag_agent;
-- every run of the agent's code takes a step here, whatever rolls back
CREATE SEQUENCE code.ran;
CREATE TABLE code.ledger (id int PRIMARY KEY, amount numeric);
INSERT INTO code.ledger SELECT g, g * 1.5 FROM generate_series(1, 200) g;
CREATE TABLE code.scratch3 (id int PRIMARY KEY, v text, at timestamptz DEFAULT '2026-01-01');
INSERT INTO code.scratch3 (id, v) SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE FUNCTION code.wipe() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM nextval('code.ran'); DELETE FROM code.ledger; RETURN NULL; END $$;
CREATE FUNCTION code.wipe_ok(int) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM nextval('code.ran'); DELETE FROM code.ledger; RETURN true; END $$;
CREATE FUNCTION code.counted(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN PERFORM nextval('code.ran'); RETURN $1; END $$;
CREATE FUNCTION code.changed() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.v := 'changed'; RETURN NEW; END $$;
RESET SESSION AUTHORIZATION;
-- the ledger, the agent's code's runs, and the entries: what no refusal
-- changes (and no restore but for its entry)
CREATE FUNCTION public.code_state() RETURNS text LANGUAGE sql AS $$
    SELECT 'ledger ' || fingerprint('code.ledger') ||
           ', code ran ' || (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM code.ran) || ' times' ||
           ', entries ' || (SELECT count(*) FROM agentguard.quarantine WHERE original_schema = 'code')
$$;
CREATE TABLE scratch3_before AS SELECT fingerprint('code.scratch3') AS print;

-- the approved TRUNCATE, then the reported attack: an AFTER INSERT trigger
-- that empties the ledger
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('TRUNCATE code.scratch3') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE code.scratch3;
SELECT id AS entry FROM agentguard.quarantine WHERE original_name = 'scratch3' \gset
CREATE TRIGGER wipe AFTER INSERT ON code.scratch3 FOR EACH ROW EXECUTE FUNCTION code.wipe();
-- more code where a restore would run it: a trigger and a rule that fire
-- in replica mode too, a check, a new column's default, a domain's check,
-- a domain's default, an index expression, a check through query_to_xml,
-- a volatile built-in, forced row-level security
CREATE TRIGGER wipe_always AFTER INSERT ON code.scratch3 FOR EACH STATEMENT EXECUTE FUNCTION code.wipe();
ALTER TABLE code.scratch3 ENABLE ALWAYS TRIGGER wipe_always;
CREATE RULE wipe_replica AS ON INSERT TO code.scratch3 DO ALSO DELETE FROM code.ledger;
ALTER TABLE code.scratch3 ENABLE REPLICA RULE wipe_replica;
ALTER TABLE code.scratch3 ADD CONSTRAINT wipe_check CHECK (code.wipe_ok(id));
ALTER TABLE code.scratch3 ADD COLUMN extra boolean DEFAULT code.wipe_ok(0);
CREATE DOMAIN code.checked AS int CHECK (code.wipe_ok(VALUE));
ALTER TABLE code.scratch3 ADD COLUMN d code.checked;
CREATE DOMAIN code.defaulted AS int DEFAULT code.counted(7);
ALTER TABLE code.scratch3 ADD COLUMN dd code.defaulted;
CREATE INDEX counted ON code.scratch3 (code.counted(id));
ALTER TABLE code.scratch3 ADD CONSTRAINT sneaky CHECK (query_to_xml('SELECT code.wipe_ok(1)', false, false, '') IS NOT NULL);
ALTER TABLE code.scratch3 ADD COLUMN flip text DEFAULT set_config('agentguard_test.flip', 'on', false);
ALTER TABLE code.scratch3 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY wipe_policy ON code.scratch3 WITH CHECK (code.wipe_ok(id));
RESET SESSION AUTHORIZATION;
SELECT code_state() AS state \gset
SELECT :'state' AS state;

-- the DBA's restore refuses, naming each, and nothing changes
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.scratch3') AS scratch3;
-- the agent's own restore likewise
SET SESSION AUTHORIZATION ag_agent;
SELECT restored(:entry) ~ '^55000 agentguard: cannot restore' AS refused;
RESET SESSION AUTHORIZATION;
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.scratch3') AS scratch3;

-- the DBA clears most of it; what is left (two domains) is still refused
-- by itself
ALTER TABLE code.scratch3 ENABLE TRIGGER wipe_always;
ALTER TABLE code.scratch3 ENABLE RULE wipe_replica;
ALTER TABLE code.scratch3 NO FORCE ROW LEVEL SECURITY;
ALTER TABLE code.scratch3 DROP CONSTRAINT wipe_check, DROP CONSTRAINT sneaky, DROP COLUMN extra, DROP COLUMN flip;
DROP INDEX code.counted;
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.scratch3') AS scratch3;
ALTER TABLE code.scratch3 DROP COLUMN d, DROP COLUMN dd;
-- what is left is ordinary: the AFTER INSERT trigger of the report, a
-- statement trigger, a rule that deletes the ledger, a BEFORE INSERT
-- trigger that would change every row, a policy (the owner is not held to
-- it): none of it runs, and every row comes back as it was
CREATE TRIGGER changed BEFORE INSERT ON code.scratch3 FOR EACH ROW EXECUTE FUNCTION code.changed();
ALTER TABLE code.scratch3 OWNER TO ag_agent;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'code.scratch3'::regclass ORDER BY 1;
SELECT rulename, ev_enabled FROM pg_rewrite WHERE ev_class = 'code.scratch3'::regclass;
SELECT restored(:entry);
SELECT code_state() = replace(:'state', 'entries 1', 'entries 0') AS ledger_untouched_code_never_ran;
SELECT fingerprint('code.scratch3') = print AS every_row_back FROM scratch3_before;

-- a superuser agent's table: an ALWAYS trigger and a check through a
-- built-in that runs SQL are refused; an ordinary trigger does not fire
CREATE TABLE code.super_t (id int PRIMARY KEY, v text);
INSERT INTO code.super_t SELECT g, 's' || g FROM generate_series(1, 40) g;
ALTER TABLE code.super_t OWNER TO ag_super;
CREATE TABLE super_before AS SELECT fingerprint('code.super_t') AS print;
SET SESSION AUTHORIZATION ag_super;
SELECT request_of('TRUNCATE code.super_t') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE code.super_t;
SELECT id AS entry FROM agentguard.quarantine WHERE original_name = 'super_t' \gset
CREATE TRIGGER wipe AFTER INSERT ON code.super_t FOR EACH ROW EXECUTE FUNCTION code.wipe();
ALTER TABLE code.super_t ENABLE ALWAYS TRIGGER wipe;
ALTER TABLE code.super_t ADD CONSTRAINT sneaky CHECK (table_to_xml('code.ledger', false, false, '') IS NOT NULL);
RESET SESSION AUTHORIZATION;
SELECT code_state() AS state \gset
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.super_t') AS super_t;
ALTER TABLE code.super_t ENABLE TRIGGER wipe, DROP CONSTRAINT sneaky;
SET SESSION AUTHORIZATION ag_super;
SELECT restored(:entry);
RESET SESSION AUTHORIZATION;
SELECT code_state() = replace(:'state', 'entries 1', 'entries 0') AS ledger_untouched_code_never_ran;
SELECT fingerprint('code.super_t') = print AS every_row_back FROM super_before;

-- a partition key of a parent the table was given since: a row put into
-- a partition is checked against it
CREATE TABLE code.kept4 (id int, v text);
INSERT INTO code.kept4 SELECT g, 'k' || g FROM generate_series(1, 25) g;
ALTER TABLE code.kept4 OWNER TO ag_agent;
CREATE TABLE kept4_before AS SELECT fingerprint('code.kept4') AS print;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('TRUNCATE code.kept4') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE code.kept4;
SELECT id AS entry FROM agentguard.quarantine WHERE original_name = 'kept4' \gset
CREATE TABLE code.wrap (id int, v text) PARTITION BY LIST (code.counted(id));
ALTER TABLE code.wrap ATTACH PARTITION code.kept4 DEFAULT;
RESET SESSION AUTHORIZATION;
SELECT code_state() AS state \gset
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.kept4') AS kept4;
ALTER TABLE code.wrap DETACH PARTITION code.kept4;
SELECT restored(:entry);
SELECT code_state() = replace(:'state', 'entries 1', 'entries 0') AS code_never_ran;
SELECT fingerprint('code.kept4') = print AS every_row_back FROM kept4_before;

-- attaching a partition back runs its parent's code too: an index on an
-- expression the agent added to the parent since is built on it
CREATE TABLE code.events (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE code.events_1 PARTITION OF code.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE code.events_2 PARTITION OF code.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO code.events SELECT date '2025-01-01' + g, g FROM generate_series(1, 500) g;
ALTER TABLE code.events OWNER TO ag_agent;
ALTER TABLE code.events_1 OWNER TO ag_agent;
ALTER TABLE code.events_2 OWNER TO ag_agent;
CREATE TABLE events_before AS SELECT fingerprint('code.events') AS print;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP TABLE code.events_1') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE code.events_1;
SELECT id AS entry FROM agentguard.quarantine WHERE original_name = 'events_1' \gset
CREATE INDEX events_counted ON code.events (code.counted(v));
RESET SESSION AUTHORIZATION;
SELECT code_state() AS state \gset
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, to_regclass('code.events_1') AS events_1;
DROP INDEX code.events_counted;
SELECT restored(:entry);
SELECT code_state() = replace(:'state', 'entries 1', 'entries 0') AS code_never_ran;
SELECT fingerprint('code.events') = print AS every_row_back FROM events_before;

-- the foreign keys of restored rows are checked by agentguard, their
-- triggers being off: a kept row whose key is gone fails the restore
CREATE TABLE code.owners (id int PRIMARY KEY, kind int, UNIQUE (id, kind));
INSERT INTO code.owners SELECT g, g % 3 FROM generate_series(1, 10) g;
CREATE TABLE code.pets (id int PRIMARY KEY, owner_id bigint REFERENCES code.owners, o int, k int,
                        FOREIGN KEY (o, k) REFERENCES code.owners (id, kind) MATCH FULL);
INSERT INTO code.pets SELECT g, 1 + g % 10, CASE WHEN g % 2 = 0 THEN 1 + g % 10 END,
                             CASE WHEN g % 2 = 0 THEN (1 + g % 10) % 3 END FROM generate_series(1, 30) g;
ALTER TABLE code.owners OWNER TO ag_agent;
ALTER TABLE code.pets OWNER TO ag_agent;
CREATE TABLE pets_before AS SELECT fingerprint('code.pets') AS print;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('TRUNCATE code.pets') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
TRUNCATE code.pets;
SELECT id AS entry FROM agentguard.quarantine WHERE original_name = 'pets' \gset
RESET SESSION AUTHORIZATION;
DELETE FROM code.owners WHERE id = 4;
SELECT code_state() AS state \gset
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.pets') AS pets;
INSERT INTO code.owners VALUES (4, 1);
-- MATCH FULL, over two columns
UPDATE code.owners SET kind = 0 WHERE id = 5;
SELECT restored(:entry);
SELECT code_state() = :'state' AS nothing_changed, fingerprint('code.pets') AS pets;
UPDATE code.owners SET kind = 2 WHERE id = 5;
SELECT restored(:entry);
SELECT fingerprint('code.pets') = print AS every_row_back FROM pets_before;

DROP SCHEMA code CASCADE;
DROP TABLE scratch3_before, super_before, kept4_before, events_before, pets_before;
