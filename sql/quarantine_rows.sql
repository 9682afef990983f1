-- Quarantine keeps rows: a confirmed DELETE, UPDATE or MERGE keeps the rows
-- as they were before it, with what its cascades deleted or set to NULL;
-- restore puts every row and value back, and leaves rows changed since.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

SELECT setval('agentguard.quarantine_ids', 500);
CREATE SCHEMA rws AUTHORIZATION ag_agent;
SET SESSION AUTHORIZATION ag_agent;
-- a dropped column, NULLs and TOASTed values in the rows that are kept
CREATE TABLE rws.parents (id int PRIMARY KEY, gone int, name text, big text, note text);
RESET SESSION AUTHORIZATION;
ALTER TABLE rws.parents DROP COLUMN gone;
SET SESSION AUTHORIZATION ag_agent;
INSERT INTO rws.parents
SELECT g, 'p' || g,
       CASE WHEN g % 10 = 0 THEN (SELECT string_agg(md5(g::text || i), '') FROM generate_series(1, 300) i) END,
       CASE WHEN g % 3 <> 0 THEN 'n' || g END
FROM generate_series(1, 50) g;
CREATE TABLE rws.children (id int PRIMARY KEY, parent int REFERENCES rws.parents ON DELETE CASCADE, what text);
INSERT INTO rws.children SELECT g, 1 + g % 50, 'c' || g FROM generate_series(1, 100) g;
CREATE TABLE rws.notes (id int PRIMARY KEY, parent int REFERENCES rws.parents ON DELETE SET NULL, body text);
INSERT INTO rws.notes SELECT g, g, 'b' || g FROM generate_series(1, 50) g;
CREATE TABLE rws.items (id int PRIMARY KEY, val text, n int);
INSERT INTO rws.items SELECT g, 'v' || g, g FROM generate_series(1, 50) g;
CREATE TABLE rws.events (id int, at date, what text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE rws.events_2025 PARTITION OF rws.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE rws.events_2026 PARTITION OF rws.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO rws.events SELECT g, date '2025-12-01' + g, 'e' || g FROM generate_series(1, 60) g;
CREATE TABLE rws.loose (a int, b text);
INSERT INTO rws.loose SELECT g, 'l' || g FROM generate_series(1, 30) g;
RESET SESSION AUTHORIZATION;

-- every table's rows: how many, and a checksum of them ordered by key
CREATE FUNCTION rws_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'parents', (SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM rws.parents t)
    UNION ALL SELECT 'children', (SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM rws.children t)
    UNION ALL SELECT 'notes', (SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM rws.notes t)
    UNION ALL SELECT 'items', (SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM rws.items t)
    UNION ALL SELECT 'events', (SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id, at)) FROM rws.events t)
    UNION ALL SELECT 'loose', (SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY a)) FROM rws.loose t)
$$;
CREATE TABLE rws_saved AS SELECT * FROM rws_state();
-- the tables that differ from what was saved
CREATE FUNCTION rws_changed() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(s.item, ', ' ORDER BY s.item), 'none')
    FROM rws_state() s JOIN rws_saved b USING (item) WHERE s.value IS DISTINCT FROM b.value
$$;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE oid = 'rws.parents'::regclass;
-- the newest entry
CREATE FUNCTION rws_entry() RETURNS bigint LANGUAGE sql AS
$$ SELECT max(id) FROM agentguard.quarantine WHERE kind = 'rows' $$;

-- a DELETE without WHERE, confirmed: its cascades delete the children and
-- set the notes' parent to NULL, and all of it is kept in one entry
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.parents') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.parents;
RESET SESSION AUTHORIZATION;
SELECT (SELECT count(*) FROM rws.parents) AS parents, (SELECT count(*) FROM rws.children) AS children,
       (SELECT count(*) FROM rws.notes WHERE parent IS NULL) AS orphaned_notes;
SELECT id, kind, original_schema, original_name, quarantined_as, dropped_by,
       lsn IS NOT NULL AS has_lsn, expires_at > dropped_at AS expires
FROM agentguard.quarantine WHERE id = rws_entry();
SELECT position, sql_kind, original_name, quarantined_name, args
FROM agentguard.quarantine_members WHERE entry_id = rws_entry() ORDER BY position;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;
SELECT count(*) AS kept_tables_left FROM pg_tables WHERE schemaname = 'agentguard_quarantine' AND tablename LIKE 'q50%';

-- over the row limit, with a WHERE clause
SET agentguard.max_rows = 20;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.parents WHERE id <= 30') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.parents WHERE id <= 30;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS parents FROM rws.parents;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;

-- an UPDATE, TOASTed values and NULLs among what it changes
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.parents SET name = upper(name), big = NULL, note = coalesce(note, ''was null'')') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
UPDATE rws.parents SET name = upper(name), big = NULL, note = coalesce(note, 'was null');
RESET SESSION AUTHORIZATION;
SELECT rws_changed() AS changed;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;

-- an UPDATE that changes the key: each row is found by its new key
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.items SET id = id + 1000, n = -n') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
UPDATE rws.items SET id = id + 1000, n = -n;
RESET SESSION AUTHORIZATION;
SELECT min(id), max(id) FROM rws.items;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;

-- rows changed since are left as they are, and counted
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.items SET val = val || ''!''') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
UPDATE rws.items SET val = val || '!';
DELETE FROM rws.items WHERE id = 7;
RESET SESSION AUTHORIZATION;
UPDATE rws.items SET n = 0 WHERE id IN (3, 4);
SELECT agentguard.restore(rws_entry());
SELECT id, val, n FROM rws.items WHERE id <= 8 ORDER BY id;
SELECT count(*) AS restored FROM rws.items WHERE val = 'v' || id AND n = id;
-- put the three back by hand for what follows
INSERT INTO rws.items VALUES (7, 'v7', 7);
UPDATE rws.items SET val = 'v' || id, n = id WHERE id IN (3, 4);
SELECT rws_changed() AS changed;

-- a deleted row whose key is taken again since stays out, and is counted
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.items') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.items;
RESET SESSION AUTHORIZATION;
INSERT INTO rws.items VALUES (10, 'someone else', 0);
SELECT agentguard.restore(rws_entry());
SELECT val FROM rws.items WHERE id = 10;
UPDATE rws.items SET val = 'v10', n = 10 WHERE id = 10;
SELECT rws_changed() AS changed;

-- MERGE: rows it deletes and updates are kept; rows it inserts are not
SET SESSION AUTHORIZATION ag_agent;
\set merge 'MERGE INTO rws.items t USING (SELECT g FROM generate_series(1, 60) g) s ON t.id = s.g WHEN MATCHED AND t.id % 2 = 0 THEN DELETE WHEN MATCHED AND t.id > 40 THEN DO NOTHING WHEN MATCHED THEN UPDATE SET val = ''merged'' WHEN NOT MATCHED THEN INSERT VALUES (s.g, ''new'', 0)'
SELECT request_of(:'merge') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
:merge;
RESET SESSION AUTHORIZATION;
SELECT val, count(*) FROM rws.items GROUP BY val ORDER BY val COLLATE "C" LIMIT 3;
SELECT agentguard.restore(rws_entry());
DELETE FROM rws.items WHERE val = 'new';
SELECT rws_changed() AS changed;

-- a partitioned table: each partition's rows are kept and go back there
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.events') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.events;
RESET SESSION AUTHORIZATION;
SELECT original_name FROM agentguard.quarantine WHERE id = rws_entry();
SELECT position, original_name FROM agentguard.quarantine_members WHERE entry_id = rws_entry() ORDER BY position;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.events SET what = upper(what)') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
UPDATE rws.events SET what = upper(what);
RESET SESSION AUTHORIZATION;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;

-- a row moved to another partition cannot be put back: refused, nothing changed
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.events SET at = at + 40') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
SELECT try('UPDATE rws.events SET at = at + 40');
RESET SESSION AUTHORIZATION;
SELECT rws_changed() AS changed;

-- a table without a key: its updated rows are found again by their place,
-- unless its storage was rewritten since (then they are left as they are)
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.loose SET b = upper(b)') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
UPDATE rws.loose SET b = upper(b);
RESET SESSION AUTHORIZATION;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('UPDATE rws.loose SET b = b || ''?''') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
UPDATE rws.loose SET b = b || '?';
RESET SESSION AUTHORIZATION;
VACUUM FULL rws.loose;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;
UPDATE rws.loose SET b = rtrim(b, '?');
SELECT rws_changed() AS changed;
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.loose') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.loose;
RESET SESSION AUTHORIZATION;
SELECT agentguard.restore(rws_entry());
SELECT rws_changed() AS changed;

-- a statement that needs no confirmation keeps nothing
SELECT count(*) AS entries FROM agentguard.quarantine WHERE kind = 'rows' \gset
SET SESSION AUTHORIZATION ag_agent;
DELETE FROM rws.items WHERE id = 50;
UPDATE rws.items SET n = n WHERE id < 10;
RESET SESSION AUTHORIZATION;
SELECT count(*) - :entries AS new_entries FROM agentguard.quarantine WHERE kind = 'rows';
INSERT INTO rws.items VALUES (50, 'v50', 50);

-- quarantine_drops = 'off': a confirmed DELETE keeps nothing
SET agentguard.quarantine_drops = 'off';
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.notes') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.notes;
RESET SESSION AUTHORIZATION;
RESET agentguard.quarantine_drops;
SELECT count(*) AS notes, (SELECT count(*) - :entries FROM agentguard.quarantine WHERE kind = 'rows') AS new_entries
FROM rws.notes;
INSERT INTO rws.notes SELECT g, g, 'b' || g FROM generate_series(1, 50) g;
SELECT rws_changed() AS changed;

-- quarantine_drops = 'all': a DBA's DELETE or UPDATE without a WHERE
-- clause is kept too, with its cascades; one with a WHERE clause is not
RESET agentguard.max_rows;
SET agentguard.quarantine_drops = 'all';
SELECT count(*) AS entries FROM agentguard.quarantine WHERE kind = 'rows' \gset
DELETE FROM rws.items WHERE id > 45;
SELECT count(*) - :entries AS new_entries FROM agentguard.quarantine WHERE kind = 'rows';
INSERT INTO rws.items SELECT g, 'v' || g, g FROM generate_series(46, 50) g;
DELETE FROM rws.parents;
SELECT (SELECT count(*) FROM rws.parents) AS parents, (SELECT count(*) FROM rws.children) AS children;
SELECT dropped_by = current_user AS by_dba, statement FROM agentguard.quarantine_entries WHERE id = rws_entry();
SELECT agentguard.restore(rws_entry());
UPDATE rws.items SET n = n + 1 WHERE true;
SELECT agentguard.restore(rws_entry());
RESET agentguard.quarantine_drops;
SELECT rws_changed() AS changed;

-- purge destroys the kept rows for good
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DELETE FROM rws.children') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DELETE FROM rws.children;
RESET SESSION AUTHORIZATION;
SELECT quarantined_as AS kept FROM agentguard.quarantine WHERE id = rws_entry() \gset
SELECT agentguard.purge(rws_entry());
SELECT to_regclass(:'kept') AS kept_table, count(*) AS children FROM rws.children;

DROP SCHEMA rws CASCADE;
DROP FUNCTION rws_state(), rws_changed(), rws_entry();
DROP TABLE rws_saved;
