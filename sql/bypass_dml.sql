-- Approved DELETE, UPDATE and MERGE never do more than the DBA saw, and
-- what was decided about a plan is never forgotten or carried over:
-- security findings 8, 11, 12 and 14 and the members of their classes.
-- Every attempt shows that nothing changed.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

CREATE SCHEMA bd AUTHORIZATION ag_agent;
SET search_path = bd, public;
CREATE TABLE accounts(id int PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO accounts SELECT g, g * 1.5 FROM generate_series(1, 50) g;
CREATE TABLE ledger(id int PRIMARY KEY, note text);
INSERT INTO ledger SELECT g, 'entry ' || g FROM generate_series(1, 30) g;
CREATE TABLE other(id int PRIMARY KEY);
INSERT INTO other SELECT generate_series(1, 30);
ALTER TABLE accounts OWNER TO ag_agent;
ALTER TABLE ledger OWNER TO ag_agent;
ALTER TABLE other OWNER TO ag_agent;
CREATE FUNCTION bd.state() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ', fingerprint('bd.accounts'), fingerprint('bd.ledger'), fingerprint('bd.other'))
$$;
CREATE TABLE bd.before AS SELECT bd.state() AS s;
GRANT SELECT ON bd.before TO PUBLIC;
CREATE FUNCTION bd.unchanged() RETURNS boolean LANGUAGE sql AS
    $$ SELECT bd.state() = (SELECT s FROM bd.before) $$;
SET agentguard.max_rows = 10;

---------------------------------------------------------------------------
-- 8. No cache decides: a refused plan stays refused however many others
-- are refused meanwhile.
---------------------------------------------------------------------------
SET SESSION AUTHORIZATION ag_agent;
SET search_path = bd, public;
PREPARE wipe AS DELETE FROM accounts;
EXECUTE wipe;
DO $$
BEGIN
    FOR i IN 1 .. 70 LOOP
        BEGIN
            EXECUTE format('DELETE FROM bd.ledger WHERE %s = %s', i, i);
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
END $$;
EXECUTE wipe;
-- the same in a function's cached plan, and through a cursor-free SQL function
CREATE FUNCTION bd.wipe_ledger() RETURNS void LANGUAGE plpgsql AS
    $$ BEGIN DELETE FROM bd.ledger WHERE true; END $$;
SELECT try('SELECT bd.wipe_ledger()');
DO $$
BEGIN
    FOR i IN 1 .. 70 LOOP
        BEGIN
            EXECUTE format('UPDATE bd.other SET id = id WHERE %s < %s', i, i + 1);
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
END $$;
SELECT try('SELECT bd.wipe_ledger()');
-- the plan shows the mark it carries
EXPLAIN (COSTS OFF) DELETE FROM accounts;
DEALLOCATE wipe;
RESET SESSION AUTHORIZATION;
SELECT bd.unchanged() AS unchanged;

---------------------------------------------------------------------------
-- 14. A plan made where nothing was checked is made again when the rules
-- come to apply: mode off, a session not yet an agent's, another role.
---------------------------------------------------------------------------
SET search_path = bd, public;
SET agentguard.mode = 'off';
PREPARE off_plan AS DELETE FROM bd.ledger;
SET agentguard.mode = 'enforce';
SET SESSION AUTHORIZATION ag_agent;
EXECUTE off_plan;
RESET SESSION AUTHORIZATION;
DEALLOCATE off_plan;
-- prepared by the DBA, run after SET ROLE to an agent role
PREPARE dba_plan AS UPDATE bd.other SET id = -id;
SET ROLE ag_agent;
EXECUTE dba_plan;
RESET ROLE;
-- prepared before the session's own switch went on
PREPARE before_switch AS DELETE FROM bd.accounts WHERE id > 0;
SET agentguard.agent = on;
EXECUTE before_switch;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT bd.unchanged() AS unchanged;

---------------------------------------------------------------------------
-- 11. An approved DELETE, UPDATE or MERGE is bound to its parameters and
-- may change no more rows, in no other tables, than its request showed.
---------------------------------------------------------------------------
SET search_path = bd, public;
SET agentguard.max_rows = 10;
CREATE FUNCTION bd.small(id int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 <= 15';
ALTER FUNCTION bd.small(int) OWNER TO ag_agent;
CREATE VIEW bd.some_accounts AS SELECT * FROM bd.accounts WHERE id <= 15;
ALTER VIEW bd.some_accounts OWNER TO ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SET search_path = bd, public;

-- the request shows the rows it counted
SELECT request_of('DELETE FROM accounts WHERE small(id)') AS code \gset
SELECT shown(:'code');
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
-- [11a] the function in its WHERE replaced to return true
BEGIN;
CREATE OR REPLACE FUNCTION bd.small(id int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
SELECT why('DELETE FROM accounts WHERE small(id)');
ROLLBACK;
-- [11b] a function that shadows it, put first on search_path
BEGIN;
CREATE SCHEMA shadow;
CREATE FUNCTION shadow.small(id int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
SET LOCAL search_path = shadow, bd, public;
SELECT why('DELETE FROM accounts WHERE small(id)');
ROLLBACK;
-- [11c] rows the WHERE reads added since: still more than approved
BEGIN;
UPDATE accounts SET id = id - 100 WHERE id IN (40, 41);
SELECT why('DELETE FROM accounts WHERE small(id)');
ROLLBACK;
SELECT bd.unchanged() AS unchanged;
-- what the DBA saw runs, once
DELETE FROM accounts WHERE small(id);
SELECT count(*) AS accounts_left FROM accounts;
INSERT INTO accounts SELECT g, g * 1.5 FROM generate_series(1, 15) g;

-- [11d] the view it deletes from widened
SELECT request_of('DELETE FROM some_accounts') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
CREATE OR REPLACE VIEW some_accounts AS SELECT * FROM accounts;
SELECT why('DELETE FROM some_accounts');
ROLLBACK;
SELECT bd.unchanged() AS unchanged;

-- [11e] a prepared statement run with another parameter: the request shows
-- the value, and a token for one value does not cover another
PREPARE upto(int) AS DELETE FROM accounts WHERE id <= $1;
SELECT request_of('EXECUTE upto(15)') AS code \gset
SELECT shown(:'code');
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT why('EXECUTE upto(50)');
SELECT bd.unchanged() AS unchanged;
EXECUTE upto(15);
SELECT count(*) AS accounts_left FROM accounts;
INSERT INTO accounts SELECT g, g * 1.5 FROM generate_series(1, 15) g;
DEALLOCATE upto;

-- [11f] a PL/pgSQL function called with a larger argument
CREATE FUNCTION bd.forget(n int) RETURNS void LANGUAGE plpgsql AS
    $$ BEGIN DELETE FROM bd.accounts WHERE id <= n; END $$;
SELECT request_of('SELECT bd.forget(15)') AS code \gset
SELECT shown(:'code');
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT why('SELECT bd.forget(50)');
SELECT bd.unchanged() AS unchanged;
SELECT bd.forget(15);
SELECT count(*) AS accounts_left FROM accounts;
INSERT INTO accounts SELECT g, g * 1.5 FROM generate_series(1, 15) g;

-- [11g] a trigger added after signing reaches other tables: refused, the
-- request names only the statement's own table
SELECT request_of('UPDATE accounts SET balance = balance + 1 WHERE id <= 12') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
BEGIN;
CREATE FUNCTION bd.spread() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN DELETE FROM bd.other WHERE id = NEW.id; RETURN NEW; END $$;
CREATE TRIGGER spread AFTER UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION bd.spread();
SELECT why('UPDATE accounts SET balance = balance + 1 WHERE id <= 12');
ROLLBACK;
SELECT bd.unchanged() AS unchanged;
-- the confirmation was not used up by the refused attempts
UPDATE accounts SET balance = balance + 1 WHERE id <= 12;
UPDATE accounts SET balance = balance - 1 WHERE id <= 12 AND id > 2;
UPDATE accounts SET balance = balance - 1 WHERE id <= 2;
SELECT bd.unchanged() AS unchanged_after_undo;

---------------------------------------------------------------------------
-- 12. A confirmation's lift ends with its one execution, whatever rolls back.
---------------------------------------------------------------------------
-- [12a] a trigger runs the approved statement in a subtransaction it rolls
-- back (so the confirmation is not used up), then an unbounded one of its own
SELECT request_of('DELETE FROM accounts') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
CREATE TABLE bd.bell(i int);
CREATE FUNCTION bd.ring() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        DELETE FROM accounts;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    DELETE FROM bd.ledger;
    RETURN NEW;
END $$;
CREATE TRIGGER ring AFTER INSERT ON bd.bell FOR EACH ROW EXECUTE FUNCTION bd.ring();
SELECT why('INSERT INTO bd.bell VALUES (1)');
SELECT bd.unchanged() AS unchanged;
-- [12b] the same with the approved statement kept, and another after it
CREATE OR REPLACE FUNCTION bd.ring() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounts;
    DELETE FROM bd.ledger;
    RETURN NEW;
END $$;
SELECT why('INSERT INTO bd.bell VALUES (1)');
SELECT bd.unchanged() AS unchanged;
DROP TRIGGER ring ON bd.bell;
-- [12c] a deferred constraint trigger deletes at COMMIT, after the approved
-- statement ended
SELECT request_of('DELETE FROM accounts WHERE id > 0') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
CREATE FUNCTION bd.later() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN DELETE FROM bd.ledger WHERE id > 0; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER later AFTER DELETE ON bd.accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bd.later();
BEGIN;
DELETE FROM accounts WHERE id > 0;
COMMIT;
SELECT bd.unchanged() AS unchanged;
DROP TRIGGER later ON bd.accounts;
-- both confirmations are still there, each for its statement alone
DELETE FROM accounts WHERE id > 0;
SELECT count(*) AS accounts_left, (SELECT count(*) FROM ledger) AS ledger_rows FROM accounts;
INSERT INTO accounts SELECT g, g * 1.5 FROM generate_series(1, 50) g;
DELETE FROM accounts;
SELECT count(*) AS accounts_left, (SELECT count(*) FROM ledger) AS ledger_rows FROM accounts;

---------------------------------------------------------------------------
-- One row: a migration lock or a settings row may be updated without WHERE.
---------------------------------------------------------------------------
CREATE TABLE bd.lock(is_locked int);
INSERT INTO bd.lock VALUES (1);
UPDATE bd.lock SET is_locked = 0;
SELECT * FROM bd.lock;
INSERT INTO bd.lock VALUES (1);
SELECT try('UPDATE bd.lock SET is_locked = 0');
SELECT is_locked, count(*) FROM bd.lock GROUP BY 1;
RESET SESSION AUTHORIZATION;
RESET agentguard.max_rows;
