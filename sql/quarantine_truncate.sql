-- A quarantined TRUNCATE keeps the table's files, not a copy of its rows:
-- the kept relation holds the files the table had (same relfilenode), and
-- restore gives them back when the table is empty and unchanged, or copies
-- the rows back beside new ones and says how many.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT setval('agentguard.quarantine_ids', 500);
CREATE SCHEMA tr;
-- every kind of index, TOASTed values, a dropped column, a column added
-- with a default after the rows were written, a check, a generated column
CREATE TABLE tr.docs (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gone text,
    code text NOT NULL UNIQUE,
    body text,
    tags text[],
    price numeric CHECK (price >= 0),
    doubled numeric GENERATED ALWAYS AS (price * 2) STORED
);
CREATE INDEX docs_lower ON tr.docs (lower(code));
CREATE INDEX docs_cheap ON tr.docs (price) WHERE price < 10;
CREATE INDEX docs_tags ON tr.docs USING gin (tags);
INSERT INTO tr.docs (gone, code, body, tags, price)
SELECT 'x', 'C' || g, repeat(md5(g::text), 400 + g % 7), ARRAY['t' || g % 5, 'all'], g % 50
FROM generate_series(1, 300) g;
ALTER TABLE tr.docs DROP COLUMN gone;
ALTER TABLE tr.docs ADD COLUMN flag text NOT NULL DEFAULT 'old';
CREATE TABLE tr.docs_before AS SELECT * FROM tr.docs;
CREATE FUNCTION tr.docs_sum() RETURNS text LANGUAGE sql AS
$$ SELECT count(*) || ' ' || md5(string_agg(d::text, '|' ORDER BY id)) FROM tr.docs d $$;
CREATE TABLE tr.state AS SELECT tr.docs_sum() AS docs;
SELECT count(*) AS toasted FROM tr.docs WHERE pg_column_size(body) < octet_length(body);
SELECT pg_relation_filenode('tr.docs') AS heap_file,
       pg_relation_filenode('tr.docs_pkey') AS pkey_file,
       pg_relation_filenode('tr.docs_tags') AS gin_file,
       (SELECT reltoastrelid FROM pg_class WHERE oid = 'tr.docs'::regclass) AS toast_oid \gset

-- a TRUNCATE rolled back leaves the table as it was, and no entry
SET agentguard.quarantine_drops = 'all';
BEGIN;
TRUNCATE tr.docs;
SELECT count(*) AS inside FROM tr.docs;
ROLLBACK;
SELECT count(*) AS entries FROM agentguard.quarantine WHERE kind = 'truncate' AND original_schema = 'tr';
SELECT (SELECT docs FROM tr.state) = tr.docs_sum() AS same_after_rollback,
       pg_relation_filenode('tr.docs') = :heap_file AS same_file;
SELECT count(*) AS twins_left FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace
AND relname LIKE 'q%docs%';

-- TRUNCATE: the kept relation has the table's old files, indexes, TOAST
TRUNCATE tr.docs;
SELECT count(*) AS emptied FROM tr.docs;
SELECT id AS entry, quarantined_as FROM agentguard.quarantine
WHERE kind = 'truncate' AND original_name = 'docs' \gset
SELECT :'quarantined_as' AS kept_as;
SELECT pg_relation_filenode(:'quarantined_as') = :heap_file AS kept_heap_is_old_file,
       pg_relation_filenode('tr.docs') <> :heap_file AS table_has_new_file,
       (SELECT reltoastrelid FROM pg_class WHERE oid = :'quarantined_as'::regclass) = :toast_oid AS kept_toast,
       (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = :'quarantined_as'::regclass
        AND pg_relation_filenode(c.oid) IN (:pkey_file, :gin_file)) AS kept_index_files;
SELECT relname LIKE 'pg_toast_%' AND relname = 'pg_toast_' || :'quarantined_as'::regclass::oid AS toast_named_after_kept
FROM pg_class WHERE oid = :toast_oid;
-- the kept rows read as an ordinary table: every value, TOAST and all
SELECT count(*) AS kept_rows, md5(string_agg(k::text, '|' ORDER BY id)) = md5(
       (SELECT string_agg(d::text, '|' ORDER BY id) FROM tr.docs_before d)) AS kept_same
FROM :quarantined_as k;
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry;

-- restore by swap: every row back, the indexes work, the file is the old one
SELECT agentguard.restore(:entry);
SELECT (SELECT docs FROM tr.state) = tr.docs_sum() AS same_rows,
       pg_relation_filenode('tr.docs') = :heap_file AS old_file_back,
       pg_relation_filenode('tr.docs_tags') = :gin_file AS old_gin_back;
SELECT count(*) AS twins_left FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace
AND relname LIKE 'q%docs%';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM tr.docs WHERE code = 'C77';
SELECT id, price FROM tr.docs WHERE code = 'C77';
EXPLAIN (COSTS OFF) SELECT id FROM tr.docs WHERE lower(code) = 'c78';
SELECT id FROM tr.docs WHERE lower(code) = 'c78';
EXPLAIN (COSTS OFF) SELECT id FROM tr.docs WHERE price < 10 AND price > 8;
SELECT count(*) AS cheap FROM tr.docs WHERE price < 10 AND price > 8;
RESET enable_bitmapscan;
SELECT count(*) AS tagged FROM tr.docs WHERE tags @> ARRAY['t3'];
EXPLAIN (COSTS OFF) SELECT count(*) FROM tr.docs WHERE tags @> ARRAY['t3'];
RESET enable_seqscan;
SELECT count(*) AS tagged_seq FROM tr.docs WHERE tags @> ARRAY['t3'];
INSERT INTO tr.docs (code, price) VALUES ('C1', 1);
INSERT INTO tr.docs (code, price) VALUES ('NEW', -1);

-- a check added since that the kept rows break: they would be copied, and
-- the restore is refused with nothing changed; with the check gone the
-- files go back
SELECT pg_relation_filenode('tr.docs') AS heap_file \gset
TRUNCATE tr.docs;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
ALTER TABLE tr.docs ADD CONSTRAINT docs_dear CHECK (price > 5);
SELECT agentguard.restore(:entry);
SELECT count(*) AS still_empty FROM tr.docs;
ALTER TABLE tr.docs DROP CONSTRAINT docs_dear;
SELECT agentguard.restore(:entry);
SELECT (SELECT docs FROM tr.state) = tr.docs_sum() AS same_rows,
       pg_relation_filenode('tr.docs') = :heap_file AS old_file_back;

-- restore when rows were added since: copied back beside them, reported
TRUNCATE tr.docs;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
INSERT INTO tr.docs (id, code, price) OVERRIDING SYSTEM VALUE VALUES (1000, 'N1', 1), (1001, 'N2', 2);
SELECT agentguard.restore(:entry);
SELECT count(*) AS rows_now, count(*) FILTER (WHERE id >= 1000) AS added FROM tr.docs;
SELECT (SELECT docs FROM tr.state) = (SELECT count(*) || ' ' || md5(string_agg(d::text, '|' ORDER BY id))
        FROM tr.docs d WHERE id < 1000) AS kept_rows_same;
DELETE FROM tr.docs WHERE id >= 1000;

-- restore after the table changed (a column added): copied back
TRUNCATE tr.docs;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
ALTER TABLE tr.docs ADD COLUMN note text DEFAULT 'new';
SELECT agentguard.restore(:entry);
SELECT count(*) AS back, count(*) FILTER (WHERE note = 'new') AS with_default FROM tr.docs;
ALTER TABLE tr.docs DROP COLUMN note;
SELECT (SELECT docs FROM tr.state) = tr.docs_sum() AS same_rows;

-- under a new name the kept rows become a table of their own beside the
-- table, which keeps the rows it has now: every row and value, its indexes
-- named after it and working, its owner; a name taken is refused first
TRUNCATE tr.docs;
SELECT max(id) AS entry, quarantined_as FROM agentguard.quarantine WHERE kind = 'truncate'
GROUP BY quarantined_as ORDER BY 1 DESC LIMIT 1 \gset
INSERT INTO tr.docs (id, code, price) OVERRIDING SYSTEM VALUE VALUES (1000, 'N1', 1);
SELECT agentguard.restore(:entry, 'docs');
SELECT agentguard.restore(:entry, 'docs_before_truncate');
SELECT count(*) AS table_keeps_its_row FROM tr.docs;
SELECT count(*) || ' ' || md5(string_agg(d::text, '|' ORDER BY id)) = (SELECT docs FROM tr.state WHERE docs NOT LIKE '% / %')
       AS kept_rows_same FROM tr.docs_before_truncate d;
SELECT c.relname AS index_name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'tr.docs_before_truncate'::regclass ORDER BY 1;
SELECT pg_get_userbyid(relowner) = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'tr.docs'::regclass)
       AS same_owner FROM pg_class WHERE oid = 'tr.docs_before_truncate'::regclass;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT id, price FROM tr.docs_before_truncate WHERE code = 'C77';
RESET enable_bitmapscan;
RESET enable_seqscan;
SELECT count(*) AS entry_left FROM agentguard.quarantine WHERE id = :entry;
SELECT to_regclass(:'quarantined_as') IS NULL AS twin_left_quarantine;
SET agentguard.quarantine_drops = 'off';
DELETE FROM tr.docs;
INSERT INTO tr.docs (id, code, body, tags, price, flag) OVERRIDING SYSTEM VALUE
SELECT id, code, body, tags, price, flag FROM tr.docs_before_truncate;
DROP TABLE tr.docs_before_truncate;
SET agentguard.quarantine_drops = 'all';
SELECT (SELECT docs FROM tr.state WHERE docs NOT LIKE '% / %') = tr.docs_sum() AS same_rows;

-- partitions, a child reached by CASCADE, RESTART IDENTITY
CREATE TABLE tr.events (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, what text,
    PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE tr.events_2024 PARTITION OF tr.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE tr.events_2025 PARTITION OF tr.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE tr.marks (event_id bigint, at date, note text,
    FOREIGN KEY (event_id, at) REFERENCES tr.events);
CREATE INDEX ON tr.marks (note);
INSERT INTO tr.events (at, what) SELECT date '2024-06-01' + g, 'e' || g FROM generate_series(1, 400) g;
INSERT INTO tr.marks SELECT id, at, 'm' || id FROM tr.events WHERE id % 3 = 0;
CREATE FUNCTION tr.events_sum() RETURNS text LANGUAGE sql AS
$$ SELECT (SELECT count(*) || ' ' || md5(string_agg(e::text, '|' ORDER BY id)) FROM tr.events e) || ' / ' ||
          (SELECT count(*) || ' ' || md5(string_agg(m::text, '|' ORDER BY event_id)) FROM tr.marks m) $$;
INSERT INTO tr.state SELECT tr.events_sum();
SELECT pg_relation_filenode('tr.events_2025') AS part_file \gset
TRUNCATE tr.events RESTART IDENTITY CASCADE;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
SELECT position, kind, original_name, pg_relation_filenode(quarantined_as::regclass) IS NOT NULL AS kept
FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
SELECT count(*) AS kept_with_old_file FROM agentguard.quarantine_objects
WHERE id = :entry AND pg_relation_filenode(quarantined_as::regclass) = :part_file;
-- the partition's bound is kept with its rows
SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN agentguard.quarantine_objects o
ON c.conrelid = o.quarantined_as::regclass WHERE o.id = :entry AND o.original_name = 'events_2025'
AND c.contype = 'c';
-- several tables' rows go back into their own tables only
SELECT agentguard.restore(:entry, 'events_before');
SELECT agentguard.restore(:entry);
SELECT (SELECT docs FROM tr.state WHERE docs LIKE '% / %') = tr.events_sum() AS same_rows,
       pg_relation_filenode('tr.events_2025') = :part_file AS old_file_back;
SET enable_seqscan = off;
SELECT count(*) AS found_by_index FROM tr.marks WHERE note = 'm9';
RESET enable_seqscan;

-- a partition given another bound since: its rows would be copied, and
-- the restore is refused where they fall outside it
TRUNCATE tr.events_2025 CASCADE;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
ALTER TABLE tr.events DETACH PARTITION tr.events_2025;
ALTER TABLE tr.events ATTACH PARTITION tr.events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
SELECT agentguard.restore(:entry);
SELECT count(*) AS still_empty FROM tr.marks;
ALTER TABLE tr.events DETACH PARTITION tr.events_2025;
ALTER TABLE tr.events ATTACH PARTITION tr.events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT agentguard.restore(:entry);
SELECT (SELECT docs FROM tr.state WHERE docs LIKE '% / %') = tr.events_sum() AS same_rows,
       pg_relation_filenode('tr.events_2025') = :part_file AS old_file_back;

-- a foreign key the kept rows break since: the swap is undone, nothing changes
SELECT pg_relation_filenode('tr.marks') AS marks_file \gset
TRUNCATE tr.marks;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'truncate' \gset
SELECT pg_relation_filenode('tr.marks') AS empty_file \gset
DELETE FROM tr.events WHERE id = 9;
SELECT agentguard.restore(:entry);
SELECT count(*) AS still_empty, pg_relation_filenode('tr.marks') = :empty_file AS same_empty_file FROM tr.marks;
INSERT INTO tr.events (id, at, what) OVERRIDING SYSTEM VALUE VALUES (9, date '2024-06-10', 'e9');
SELECT agentguard.restore(:entry);
SELECT (SELECT docs FROM tr.state WHERE docs LIKE '% / %') = tr.events_sum() AS same_rows,
       pg_relation_filenode('tr.marks') = :marks_file AS old_file_back;

-- purge drops the kept relation, its files with it
TRUNCATE tr.docs;
SELECT id AS entry, quarantined_as AS kept_as FROM agentguard.quarantine WHERE kind = 'truncate' ORDER BY id DESC LIMIT 1 \gset
SELECT pg_relation_size(:'kept_as') > 0 AS kept_has_data;
SELECT reltoastrelid AS kept_toast, pg_relation_filepath(oid) AS kept_file FROM pg_class
WHERE oid = :'kept_as'::regclass \gset
SELECT agentguard.purge(:entry);
SELECT to_regclass(:'kept_as') IS NULL AS kept_gone,
       (SELECT count(*) FROM pg_class WHERE oid = :kept_toast) AS kept_toast_left,
       coalesce((pg_stat_file(:'kept_file', true)).size, 0) = 0 AS kept_file_emptied;
SELECT count(*) AS docs_now FROM tr.docs;

-- a table truncated again in the transaction that gave it new files keeps
-- a copy of the rows it has by then; each entry restores its own rows
CREATE TABLE tr.small (i int PRIMARY KEY, t text);
INSERT INTO tr.small SELECT g, 'old' FROM generate_series(1, 5) g;
BEGIN;
TRUNCATE tr.small;
INSERT INTO tr.small SELECT g, 'newer' FROM generate_series(11, 13) g;
TRUNCATE tr.small;
COMMIT;
SELECT id AS entry, quarantined_as AS kept_as FROM agentguard.quarantine WHERE kind = 'truncate' ORDER BY id DESC LIMIT 1 \gset
SELECT count(*) AS copied_rows, (SELECT count(*) FROM pg_index WHERE indrelid = :'kept_as'::regclass) AS copy_indexes
FROM :kept_as;
SELECT agentguard.restore(:entry);
SELECT agentguard.restore(:entry - 1);
SELECT t, count(*) FROM tr.small GROUP BY t ORDER BY t;
RESET agentguard.quarantine_drops;
DROP SCHEMA tr CASCADE;
