-- Adversarial, part 6 of 8, attempts [57]-[68]: DELETE, UPDATE and MERGE
-- unbounded or past the row limit: always-true WHERE clauses, dynamic SQL,
-- CTEs, views, rules, triggers, prepared statements, cascades.  Runs after
-- the parts before it; adversarial_identity sets the stage (schemas adv and
-- adv_data, adv.outcome(), adv.unchanged) and says how to read these files.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset

---------------------------------------------------------------------------
-- 7. DELETE, UPDATE, MERGE: unbounded, or past the row limit.
---------------------------------------------------------------------------
\c - ag_agent
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET search_path = adv_data, public;
SHOW agentguard.max_rows;
-- [57] always-true WHERE clauses the rule knows
SELECT try('DELETE FROM accounts WHERE id = id');
SELECT try('DELETE FROM accounts WHERE 1 = 1');
SELECT try('DELETE FROM accounts WHERE true OR id = 1');
-- [58] dynamic SQL built with format()
DO $$ BEGIN EXECUTE format('DELETE FROM %I.%I', 'adv_data', 'accounts'); END $$;
-- [59] a data-modifying CTE, MERGE ... ON true, an updatable view defined
-- WHERE true, USING a big table, UPDATE through a join without condition
SELECT try('WITH gone AS (DELETE FROM accounts RETURNING *) SELECT count(*) FROM gone');
SELECT try('MERGE INTO accounts a USING (SELECT id FROM big LIMIT 1) b ON true WHEN MATCHED THEN DELETE');
SELECT try('DELETE FROM everyone');
SELECT try('DELETE FROM accounts USING big WHERE true');
SELECT try('UPDATE accounts SET balance = 0 FROM big');
-- [60] EXPLAIN ANALYZE, COPY (DELETE ... RETURNING), CREATE TABLE AS
SELECT try('EXPLAIN ANALYZE DELETE FROM accounts');
COPY (DELETE FROM accounts RETURNING id) TO STDOUT;
SELECT try('CREATE TABLE adv_data.copied AS WITH d AS (DELETE FROM adv_data.accounts RETURNING *) SELECT * FROM d');
-- [61] a rule, a trigger and an INSTEAD OF trigger that do it for us
BEGIN;
CREATE RULE wipe AS ON INSERT TO inbox DO INSTEAD DELETE FROM accounts;
SELECT try('INSERT INTO inbox VALUES (1)');
ROLLBACK;
BEGIN;
CREATE FUNCTION truncate_accounts() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN TRUNCATE adv_data.accounts; RETURN NEW; END $$;
CREATE TRIGGER truncate_accounts AFTER INSERT ON inbox FOR EACH STATEMENT EXECUTE FUNCTION truncate_accounts();
SELECT try('INSERT INTO inbox VALUES (1)');
ROLLBACK;
BEGIN;
CREATE VIEW accounts_view AS SELECT * FROM accounts;
CREATE FUNCTION delete_accounts() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM adv_data.accounts WHERE id >= OLD.id; RETURN OLD; END $$;
CREATE TRIGGER delete_accounts INSTEAD OF DELETE ON accounts_view FOR EACH ROW EXECUTE FUNCTION delete_accounts();
SELECT try('DELETE FROM accounts_view WHERE id = 1');
ROLLBACK;
-- [62] TRUNCATE of a view; prepared statements: TRUNCATE cannot be
-- prepared, DELETE can
SELECT try('TRUNCATE everyone');
PREPARE wipe AS TRUNCATE accounts;
PREPARE wipe(int) AS DELETE FROM accounts WHERE id > $1 OR true;
EXECUTE wipe(0);
DEALLOCATE wipe;
-- [63] past the row limit through a cascade the agent sets up (into an old
-- table: the rows of a table made in this transaction are the agent's own)
BEGIN;
ALTER TABLE big ADD COLUMN account_id int REFERENCES accounts ON DELETE CASCADE;
UPDATE big SET account_id = id WHERE id <= 6;
SELECT try('DELETE FROM accounts WHERE id <= 6');
ROLLBACK;
-- Below, tables smaller than the row limit: only the rule against
-- unbounded statements can stop these.
-- [64] BYPASS: WHERE clauses that never look at the row hold for all rows
-- or for none
BEGIN;
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE now() IS NOT NULL');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE (SELECT true)');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE EXISTS (SELECT 1)');
SELECT adv.outcome('UPDATE adv_data.flags SET enabled = false WHERE random() < 2');
SELECT adv.outcome('MERGE INTO adv_data.flags f USING (SELECT 1) s ON now() IS NOT NULL WHEN MATCHED THEN DELETE');
ROLLBACK;
-- [65] BYPASS: ... and a parameter that is true
PREPARE wipe_if(boolean) AS DELETE FROM flags WHERE $1;
BEGIN;
SELECT adv.outcome('EXECUTE wipe_if(true)');
ROLLBACK;
DEALLOCATE wipe_if;
-- [66] BYPASS: always-true forms the rule does not know
BEGIN;
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE (id = id) IS TRUE');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE NOT (id <> id)');
SELECT adv.outcome('DELETE FROM adv_data.flags WHERE ctid = ctid');
SELECT adv.outcome('UPDATE adv_data.flags SET enabled = false WHERE tableoid = tableoid');
ROLLBACK;
-- [67] BYPASS: INSERT ... ON CONFLICT DO UPDATE overwrites every row, and
-- is not counted
BEGIN;
SELECT adv.outcome('INSERT INTO adv_data.big SELECT id, 0 FROM adv_data.big ON CONFLICT (id) DO UPDATE SET v = 0');
ROLLBACK;
-- [68] BYPASS: rows that deferred triggers delete are not counted against
-- the statement that caused them
CREATE TABLE doomed(id int);
INSERT INTO doomed SELECT generate_series(1, 5);
CREATE FUNCTION delete_four() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN DELETE FROM adv_data.payroll WHERE id > (OLD.id - 1) * 4 AND id <= OLD.id * 4; RETURN OLD; END $$;
BEGIN;
CREATE TRIGGER delete_four AFTER DELETE ON doomed FOR EACH ROW EXECUTE FUNCTION delete_four();
SELECT try('DELETE FROM doomed WHERE id <= 5');
ROLLBACK;
CREATE CONSTRAINT TRIGGER delete_four AFTER DELETE ON doomed
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION delete_four();
BEGIN;
DELETE FROM doomed WHERE id <= 5;
COMMIT;
RESET search_path;
\c - :dba
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT count(*) AS payroll_rows FROM adv_data.payroll;
DO $$ BEGIN
    DELETE FROM adv_data.payroll;
    INSERT INTO adv_data.payroll SELECT g, g * 100 FROM generate_series(1, 20) g;
    DELETE FROM adv_data.accounts;
    INSERT INTO adv_data.accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 20) g;
    UPDATE adv_data.big SET v = id;
    DROP TABLE adv_data.doomed;
    DROP FUNCTION adv_data.delete_four();
END $$;
SELECT * FROM adv.unchanged;
