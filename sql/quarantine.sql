-- Quarantine: a confirmed DROP moves the objects aside, the database looks
-- as if the DROP had happened, and agentguard.restore puts every row and
-- every dependent back.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT current_user AS dba \gset
\getenv builddir PG_ABS_BUILDDIR
\set alice_key :builddir '/results/alice.pem'

-- entry ids in messages below do not depend on what earlier tests kept
SELECT setval('agentguard.quarantine_ids', 100);
CREATE TEMP TABLE audit_before AS
SELECT event, count(*) AS n FROM agentguard.audit GROUP BY event;

CREATE SCHEMA shop AUTHORIZATION ag_agent;
CREATE SCHEMA reports AUTHORIZATION ag_agent;
GRANT USAGE ON SCHEMA shop, reports TO ag_human;
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE shop.customers (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text UNIQUE,
    bio text,
    updated int DEFAULT 0
);
INSERT INTO shop.customers (name, email, bio)
SELECT 'c' || g, 'c' || g || '@example.com', repeat(md5(g::text), 200) FROM generate_series(1, 60) g;
CREATE TABLE shop.orders (
    id serial PRIMARY KEY,
    customer_id int REFERENCES shop.customers ON DELETE CASCADE,
    amount numeric CHECK (amount >= 0),
    placed date DEFAULT '2026-01-01'
);
INSERT INTO shop.orders (customer_id, amount) SELECT 1 + g % 60, g FROM generate_series(1, 200) g;
CREATE INDEX orders_by_customer ON shop.orders (customer_id);
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.updated := NEW.updated + 1; RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON shop.customers FOR EACH ROW EXECUTE FUNCTION shop.touch();
ALTER TABLE shop.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON shop.customers USING (name <> 'hidden');
COMMENT ON TABLE shop.customers IS 'who buys';
COMMENT ON COLUMN shop.customers.email IS 'where to write';
GRANT SELECT ON shop.customers TO ag_human;
CREATE STATISTICS shop.customers_stats ON name, email FROM shop.customers;
CREATE VIEW reports.customer_orders AS
    SELECT c.name, count(o.id) AS orders FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id GROUP BY c.name;
GRANT SELECT ON reports.customer_orders TO ag_human;
CREATE MATERIALIZED VIEW shop.order_totals AS SELECT customer_id, sum(amount) AS total FROM shop.orders GROUP BY 1;
CREATE TABLE shop.events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE shop.events_2026 PARTITION OF shop.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO shop.events SELECT date '2025-06-01' + g, 'e' || g FROM generate_series(1, 300) g;
RESET SESSION AUTHORIZATION;

-- what "the same" means after a restore: contents and everything around them
CREATE FUNCTION public.shop_state() RETURNS TABLE (item text, value text)
LANGUAGE sql AS $$
    SELECT 'customers', fingerprint('shop.customers')
    UNION ALL SELECT 'orders', fingerprint('shop.orders')
    UNION ALL SELECT 'events', fingerprint('shop.events')
    UNION ALL SELECT 'events_2025', fingerprint('shop.events_2025')
    UNION ALL SELECT 'report', fingerprint('reports.customer_orders')
    UNION ALL SELECT 'relations', string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
                                             pg_get_userbyid(c.relowner) || ':' || coalesce(c.relacl::text, '-') || ':' ||
                                             c.relrowsecurity || ':' || c.relispartition, ' ' ORDER BY n.nspname, c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('shop', 'reports')
    UNION ALL SELECT 'constraints', string_agg(conrelid::regclass || '.' || conname || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conrelid::regclass::text, conname)
        FROM pg_constraint WHERE connamespace = 'shop'::regnamespace
    UNION ALL SELECT 'triggers', string_agg(tgrelid::regclass || '.' || tgname, ' ' ORDER BY tgrelid::regclass::text, tgname)
        FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'shop.%'
    UNION ALL SELECT 'policies', string_agg(schemaname || '.' || tablename || '.' || policyname || ' ' || qual, ' ' ORDER BY policyname)
        FROM pg_policies WHERE schemaname = 'shop'
    UNION ALL SELECT 'comments', string_agg(coalesce(obj_description('shop.customers'::regclass), '-') || ' / ' ||
                                            coalesce(col_description('shop.customers'::regclass, 3), '-'), '')
    UNION ALL SELECT 'statistics', string_agg(stxnamespace::regnamespace || '.' || stxname, ' ' ORDER BY stxname)
        FROM pg_statistic_ext
    UNION ALL SELECT 'view', pg_get_viewdef('reports.customer_orders'::regclass)
    UNION ALL SELECT 'partitions', string_agg(inhrelid::regclass || ' ' || pg_get_expr(c.relpartbound, c.oid), '; ' ORDER BY inhrelid::regclass::text)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE inhparent = 'shop.events'::regclass
$$;
CREATE TABLE before_drop AS SELECT * FROM shop_state();

-- sign as the DBA would, with the agentguard program
\set sign 'agentguard sign --key ' :alice_key ' --ttl 5m'

-- without CASCADE the DROP fails exactly as the server's own would, even
-- when confirmed, and the confirmation is kept for the next try
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP TABLE shop.customers') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE shop.customers;
SELECT count(*) FROM agentguard.quarantine WHERE original_schema = 'shop';

-- with CASCADE: the table goes, and what CASCADE takes goes with it
SELECT request_of('DROP TABLE shop.customers CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE shop.customers CASCADE;
RESET SESSION AUTHORIZATION;
SELECT id AS entry, quarantined_as FROM agentguard.quarantine WHERE original_name = 'customers' \gset
SELECT kind, original_schema, original_name, quarantined_as = 'agentguard_quarantine.q' || id || '_customers' AS named,
       masked(dropped_by), expires_at - dropped_at AS kept_for
FROM agentguard.quarantine WHERE id = :entry;
SELECT position, kind, original_schema, original_name, moved_by_itself
FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
-- to every user the database looks as if the DROP had happened
SELECT to_regclass('shop.customers') AS customers, to_regclass('reports.customer_orders') AS report,
       to_regclass('shop.customers_pkey') AS pkey;
SELECT count(*) AS foreign_keys_to_customers FROM pg_constraint WHERE conname = 'orders_customer_id_fkey';
INSERT INTO shop.orders (customer_id, amount) VALUES (99999, 1);
DELETE FROM shop.orders WHERE customer_id = 99999;
SELECT fingerprint('shop.orders') = (SELECT value FROM before_drop WHERE item = 'orders') AS orders_untouched;
-- the name is free again
CREATE TABLE shop.customers (id int);
DROP TABLE shop.customers;
-- nobody but the DBA can reach the quarantine
SET SESSION AUTHORIZATION ag_human;
SELECT count(*) FROM :quarantined_as;
RESET SESSION AUTHORIZATION;

-- restore: as if it had never happened; an agent may restore
SET SESSION AUTHORIZATION ag_agent;
SELECT agentguard.restore(:entry);
RESET SESSION AUTHORIZATION;
SELECT b.item, s.value = b.value AS same
FROM before_drop b JOIN shop_state() s USING (item) ORDER BY b.item;
SELECT count(*) AS entry_left FROM agentguard.quarantine WHERE id = :entry;
-- and it all still works: the identity, the trigger, the foreign key, RLS
INSERT INTO shop.customers (name) VALUES ('new');
UPDATE shop.customers SET name = 'newer' WHERE name = 'new' RETURNING updated;
INSERT INTO shop.orders (customer_id, amount) VALUES (99999, 1);
DELETE FROM shop.customers WHERE name = 'newer';
SET SESSION AUTHORIZATION ag_human;
SELECT count(*) AS human_reads FROM shop.customers;
SELECT count(*) AS human_reads_report FROM reports.customer_orders;
RESET SESSION AUTHORIZATION;

-- a partitioned table goes with its partitions, and comes back attached
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP TABLE shop.events') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE shop.events;
SELECT to_regclass('shop.events') AS events, to_regclass('shop.events_2025') AS events_2025;
SELECT max(id) AS entry FROM agentguard.quarantine \gset
SELECT kind, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
SELECT agentguard.restore(:entry);
-- one partition alone leaves its parent, and comes back attached
SELECT request_of('DROP TABLE shop.events_2025') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE shop.events_2025;
SELECT count(*) AS rows_left_in_parent FROM shop.events;
SELECT max(id) AS entry FROM agentguard.quarantine \gset
SELECT kind FROM agentguard.quarantine WHERE id = :entry;
SELECT agentguard.restore(:entry);
RESET SESSION AUTHORIZATION;
SELECT b.item, s.value = b.value AS same
FROM before_drop b JOIN shop_state() s USING (item) ORDER BY b.item;

-- every session's DROP, with quarantine_drops = 'all'; names stay unique
-- however often a name is dropped, and fit NAMEDATALEN whatever its length
SET agentguard.quarantine_drops = 'all';
CREATE TABLE public.scratch (i int);
INSERT INTO public.scratch VALUES (1);
DROP TABLE public.scratch;
CREATE TABLE public.scratch (i int);
INSERT INTO public.scratch VALUES (2);
DROP TABLE public.scratch;
CREATE TABLE public."A Rather Long, Mixed-Case Table Name That Fills NAMEDATALEN 123" (i int);
DROP TABLE public."A Rather Long, Mixed-Case Table Name That Fills NAMEDATALEN 123";
CREATE TABLE public."übersicht_ß" (i int);
DROP TABLE public."übersicht_ß";
SELECT original_name, regexp_replace(quarantined_as, 'q[0-9]+_', 'q<id>_') AS quarantined_as,
       octet_length(substring(quarantined_as from '\.(.*)$')) <= 65 AS fits
FROM agentguard.quarantine WHERE original_schema = 'public' ORDER BY id;
SELECT min(id) AS first_scratch, max(id) AS second_scratch FROM agentguard.quarantine
WHERE original_name = 'scratch' \gset
-- temporary tables and tables of this transaction are dropped for real
CREATE TEMP TABLE temporary_one (i int);
DROP TABLE temporary_one;
BEGIN;
CREATE TABLE public.fresh (i int);
DROP TABLE public.fresh;
COMMIT;
SELECT count(*) AS entries FROM agentguard.quarantine WHERE original_name IN ('temporary_one', 'fresh');
RESET agentguard.quarantine_drops;

-- restore refuses with a reason and changes nothing: unknown id, taken
-- name, missing schema, twice
SELECT agentguard.restore(999);
CREATE TABLE public.scratch (i int);
SELECT agentguard.restore(:first_scratch);
SELECT agentguard.restore(:first_scratch, 'scratch_first');
SELECT * FROM public.scratch_first;
SELECT agentguard.restore(:first_scratch);
SELECT agentguard.restore(NULL);
CREATE SCHEMA doomed;
SET agentguard.quarantine_drops = 'all';
CREATE TABLE doomed.t (i int);
DROP TABLE doomed.t;
RESET agentguard.quarantine_drops;
DROP SCHEMA doomed;
SELECT agentguard.restore(id) FROM agentguard.quarantine WHERE original_schema = 'doomed';
CREATE SCHEMA doomed;
SELECT agentguard.restore(id) FROM agentguard.quarantine WHERE original_schema = 'doomed';
-- a role that owns nothing there cannot restore
SET SESSION AUTHORIZATION ag_human;
SELECT agentguard.restore(:second_scratch);
RESET SESSION AUTHORIZATION;

-- purge: for good; an agent session needs a confirmation for it
SET SESSION AUTHORIZATION ag_agent;
SELECT try('SELECT agentguard.purge(' || :second_scratch || ')');
RESET SESSION AUTHORIZATION;
GRANT EXECUTE ON FUNCTION agentguard.purge(bigint) TO ag_agent;
SET SESSION AUTHORIZATION ag_agent;
SELECT try('SELECT agentguard.purge(' || :second_scratch || ')');
RESET SESSION AUTHORIZATION;
SELECT agentguard.purge(:second_scratch);
SELECT agentguard.purge(:second_scratch);
SELECT count(*) AS purged_gone FROM pg_class WHERE relname = 'q' || :second_scratch || '_scratch';
SET agentguard.retention = '1 second';
SET agentguard.quarantine_drops = 'all';
CREATE TABLE public.short_lived (i int);
DROP TABLE public.short_lived;
RESET agentguard.quarantine_drops;
RESET agentguard.retention;
SELECT pg_sleep(1.1);
SELECT agentguard.purge_expired();
SELECT original_name FROM agentguard.quarantine WHERE original_schema = 'public' ORDER BY id;

-- quarantine_drops = 'off': a confirmed DROP destroys, as it says
SET agentguard.quarantine_drops = 'off';
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP MATERIALIZED VIEW shop.order_totals') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP MATERIALIZED VIEW shop.order_totals;
RESET SESSION AUTHORIZATION;
RESET agentguard.quarantine_drops;
SELECT to_regclass('shop.order_totals') AS gone, count(*) AS not_in_quarantine
FROM agentguard.quarantine WHERE original_name = 'order_totals';

-- views, sequences, several tables at once, and what depends on them in
-- other places: defaults that use a sequence, functions of a row type
SET agentguard.quarantine_drops = 'all';
CREATE TABLE public.pa (id int PRIMARY KEY);
CREATE TABLE public.pb (id int REFERENCES public.pa);
INSERT INTO public.pa VALUES (1), (2);
INSERT INTO public.pb VALUES (1);
CREATE FUNCTION public.pa_label(x public.pa) RETURNS text LANGUAGE sql AS $$ SELECT 'pa ' || x.id $$;
CREATE VIEW public.pa_view AS SELECT * FROM public.pa;
CREATE SEQUENCE public.counter;
SELECT nextval('public.counter'), nextval('public.counter');
CREATE TABLE public.uses_counter (id int DEFAULT nextval('public.counter'));
DROP VIEW public.pa_view;
DROP SEQUENCE public.counter CASCADE;
SELECT pg_get_expr(adbin, adrelid) AS default_left FROM pg_attrdef WHERE adrelid = 'public.uses_counter'::regclass;
DROP TABLE public.pa, public.pb CASCADE;
SELECT to_regclass('public.pa') AS pa, to_regclass('public.pb') AS pb,
       (SELECT count(*) FROM pg_proc WHERE proname = 'pa_label') AS labels;
SELECT kind, original_name FROM agentguard.quarantine_objects
WHERE id = (SELECT max(id) FROM agentguard.quarantine) ORDER BY position;
RESET agentguard.quarantine_drops;
SELECT agentguard.restore(id) FROM agentguard.quarantine
WHERE original_name IN ('pa', 'counter', 'pa_view') ORDER BY id DESC;
SELECT pa_label(pa) FROM public.pa ORDER BY id;
SELECT * FROM public.pb;
SELECT * FROM public.pa_view ORDER BY id;
SELECT nextval('public.counter') AS counter_goes_on,
       pg_get_expr(adbin, adrelid) AS default_back FROM pg_attrdef WHERE adrelid = 'public.uses_counter'::regclass;

-- a kept table's own foreign keys to a table that stays do not tie that
-- table to the quarantine: it can be dropped after it, without CASCADE,
-- and restore puts the foreign key back once what it refers to is back
SET agentguard.quarantine_drops = 'all';
CREATE TABLE public.fk_parent (id int PRIMARY KEY);
CREATE TABLE public.fk_child (id int, parent_id int REFERENCES public.fk_parent ON DELETE CASCADE);
INSERT INTO public.fk_parent SELECT generate_series(1, 5);
INSERT INTO public.fk_child SELECT g, g % 5 + 1 FROM generate_series(1, 20) g;
SELECT fingerprint('public.fk_parent') AS parent_before, fingerprint('public.fk_child') AS child_before \gset
SELECT pg_current_wal_insert_lsn() AS lsn_before \gset
DROP TABLE public.fk_child;
SELECT pg_current_wal_insert_lsn() AS lsn_between \gset
DROP TABLE public.fk_parent;
RESET agentguard.quarantine_drops;
-- each entry records the WAL position just before its statement changed anything
SELECT original_name, lsn >= :'lsn_before' AND lsn <= pg_current_wal_insert_lsn() AS in_order,
       lsn >= :'lsn_between' AS after_the_first
FROM agentguard.quarantine WHERE original_name IN ('fk_child', 'fk_parent') ORDER BY id;
SELECT event, detail ~ 'lsn [0-9A-F]+/[0-9A-F]+' AS audit_has_lsn FROM agentguard.audit
WHERE event = 'quarantine' ORDER BY id DESC LIMIT 1;
SELECT count(*) AS constraints_on_parent FROM pg_constraint
WHERE confrelid IN (SELECT oid FROM pg_class WHERE relname LIKE '%fk_parent');
SELECT id AS child_entry FROM agentguard.quarantine WHERE original_name = 'fk_child' \gset
SELECT id AS parent_entry FROM agentguard.quarantine WHERE original_name = 'fk_parent' \gset
-- the child first: its foreign key has nothing to refer to, and nothing changes
SELECT agentguard.restore(:child_entry);
SELECT to_regclass('public.fk_child') AS child, count(*) AS entries
FROM agentguard.quarantine WHERE id IN (:child_entry, :parent_entry);
SELECT agentguard.restore(:parent_entry);
SELECT agentguard.restore(:child_entry);
SELECT fingerprint('public.fk_parent') = :'parent_before' AS parent_same,
       fingerprint('public.fk_child') = :'child_before' AS child_same,
       (SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'public.fk_child'::regclass AND contype = 'f') AS foreign_key;
DELETE FROM public.fk_parent WHERE id = 1;
SELECT count(*) AS children_left FROM public.fk_child;
DROP TABLE public.fk_child, public.fk_parent;

-- the same name dropped twice comes back beside a live table of that name,
-- in any order, under new names: what is named after the table takes the
-- new name, and a name already taken gets a number
SET agentguard.quarantine_drops = 'all';
CREATE TABLE public.twice (id serial PRIMARY KEY, v text UNIQUE CHECK (v <> ''));
INSERT INTO public.twice (v) VALUES ('first a'), ('first b');
DROP TABLE public.twice;
CREATE TABLE public.twice (id serial PRIMARY KEY, v text UNIQUE);
INSERT INTO public.twice (v) VALUES ('second');
DROP TABLE public.twice;
RESET agentguard.quarantine_drops;
CREATE TABLE public.twice (id serial PRIMARY KEY, v text UNIQUE);
CREATE TABLE public.squatter (i int);
CREATE INDEX twice_b_pkey ON public.squatter (i);
SELECT min(id) AS first_twice, max(id) AS second_twice FROM agentguard.quarantine
WHERE original_name = 'twice' \gset
SELECT agentguard.restore(:second_twice, 'twice_b');
SELECT agentguard.restore(:first_twice, 'twice_a');
SELECT c.relname, c.relkind FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relname ~ '^(twice|squatter)' ORDER BY 1;
SELECT conrelid::regclass, contype, conname FROM pg_constraint
WHERE conrelid IN ('public.twice_a'::regclass, 'public.twice_b'::regclass)
  AND contype IN ('p', 'u', 'c') ORDER BY 1, 3;
SELECT * FROM public.twice_a ORDER BY id;
SELECT * FROM public.twice_b ORDER BY id;
-- each keeps its own sequence
INSERT INTO public.twice_a (v) VALUES ('first c') RETURNING id;
INSERT INTO public.twice_b (v) VALUES ('second again') RETURNING id;
DROP TABLE public.twice, public.twice_a, public.twice_b, public.squatter;

-- under a new name, foreign keys in both directions refer to the restored
-- table: another table's to it, and its own to a table that stayed
SET agentguard.quarantine_drops = 'all';
CREATE TABLE public.nn_region (id int PRIMARY KEY);
CREATE TABLE public.nn_customer (id int PRIMARY KEY, region int REFERENCES public.nn_region);
CREATE TABLE public.nn_order (id int, customer int REFERENCES public.nn_customer ON DELETE CASCADE);
INSERT INTO public.nn_region VALUES (1), (2);
INSERT INTO public.nn_customer VALUES (10, 1), (20, 2);
INSERT INTO public.nn_order VALUES (100, 10), (200, 20);
SELECT fingerprint('public.nn_customer') AS customers_before \gset
DROP TABLE public.nn_customer CASCADE;
RESET agentguard.quarantine_drops;
CREATE TABLE public.nn_customer (id int PRIMARY KEY);
SELECT agentguard.restore(id, 'nn_customer_old') FROM agentguard.quarantine WHERE original_name = 'nn_customer';
SELECT conrelid::regclass, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f' AND (conrelid = 'public.nn_customer_old'::regclass OR confrelid = 'public.nn_customer_old'::regclass)
ORDER BY 1, 2;
SELECT fingerprint('public.nn_customer_old') = :'customers_before' AS customers_same;
-- and they hold: the cascade reaches the orders, the region is checked
DELETE FROM public.nn_customer_old WHERE id = 10;
SELECT * FROM public.nn_order ORDER BY id;
INSERT INTO public.nn_customer_old VALUES (30, 9);
DROP TABLE public.nn_order, public.nn_customer, public.nn_customer_old, public.nn_region;

-- every quarantine, restore and purge is in the audit table
SELECT a.event, count(*) - coalesce(min(b.n), 0) AS during_this_test
FROM agentguard.audit a LEFT JOIN audit_before b USING (event)
WHERE a.event IN ('quarantine', 'restore', 'purge') GROUP BY a.event ORDER BY a.event;
