-- Quarantine keeps columns: a confirmed ALTER TABLE ... DROP COLUMN or
-- ALTER COLUMN ... TYPE keeps the values by key, with everything the column
-- had and what a CASCADE took; restore puts every value and dependent back.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv builddir PG_ABS_BUILDDIR
\set sign 'agentguard sign --key ' :builddir '/results/alice.pem --ttl 5m'

SELECT setval('agentguard.quarantine_ids', 400);
CREATE SCHEMA cols AUTHORIZATION ag_agent;
GRANT USAGE ON SCHEMA cols TO ag_human;
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE cols.customers (
    id int PRIMARY KEY,
    email text COLLATE "C" NOT NULL DEFAULT 'none' CHECK (email <> ''),
    phone text,
    credit numeric(10, 2)
);
CREATE UNIQUE INDEX customers_email_idx ON cols.customers (lower(email));
COMMENT ON COLUMN cols.customers.email IS 'where invoices go';
ALTER TABLE cols.customers ALTER COLUMN email SET STATISTICS 500, ALTER COLUMN email SET STORAGE MAIN,
    ALTER COLUMN email SET (n_distinct = 100), ALTER COLUMN phone SET COMPRESSION pglz;
GRANT SELECT (email), UPDATE (email) ON cols.customers TO ag_human;
ALTER TABLE cols.customers ADD CONSTRAINT customers_email_key UNIQUE (email);
CREATE TABLE cols.mail (id int PRIMARY KEY, email text REFERENCES cols.customers (email));
CREATE VIEW cols.emails AS SELECT id, email FROM cols.customers WHERE email LIKE '%@%';
CREATE VIEW cols.email_count AS SELECT count(*) AS n FROM cols.emails;
GRANT SELECT ON cols.emails TO ag_human;
ALTER TABLE cols.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_mail ON cols.customers FOR SELECT TO ag_human USING (email LIKE '%@example.com');
INSERT INTO cols.customers SELECT g, 'c' || g || '@example.com', '555-' || g, g * 1.25
FROM generate_series(1, 300) g;
INSERT INTO cols.mail SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 40) g;
RESET SESSION AUTHORIZATION;

-- everything a column of customers has, by name, and every value by key
CREATE FUNCTION cols_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'columns', string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
                                 CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
                                 coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') ||
                                 coalesce(' collate ' || c.collname, '') ||
                                 coalesce(' comment ' || col_description(a.attrelid, a.attnum), '') ||
                                 coalesce(' acl ' || a.attacl::text, '') ||
                                 ' stats ' || coalesce(a.attstattarget::text, '-') || ' storage ' || a.attstorage::text ||
                                 ' compression ' || a.attcompression::text ||
                                 coalesce(' options ' || (SELECT string_agg(o, ',') FROM unnest(a.attoptions) o
                                                         WHERE o NOT LIKE 'pg\_%'), ''),
                                 '; ' ORDER BY a.attname)
    FROM pg_attribute a
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100
    WHERE a.attrelid = 'cols.customers'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL SELECT 'values', md5(string_agg(id || ':' || email || ':' || coalesce(phone, '-') || ':' || credit,
                                              ',' ORDER BY id)) || ' ' || count(*) FROM cols.customers
    UNION ALL SELECT 'indexes', string_agg(regexp_replace(pg_get_indexdef(indexrelid), ' ON \S+', ''), '; '
                                           ORDER BY indexrelid::regclass::text)
    FROM pg_index WHERE indrelid = 'cols.customers'::regclass
    UNION ALL SELECT 'constraints', string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid),
                                               '; ' ORDER BY conrelid::regclass::text, conname)
    FROM pg_constraint WHERE conrelid IN ('cols.customers'::regclass, 'cols.mail'::regclass) AND contype <> 'n'
    UNION ALL SELECT 'policies', string_agg(policyname || ' ' || cmd || ' ' || roles::text || ' ' || qual, '; ')
    FROM pg_policies WHERE schemaname = 'cols'
    UNION ALL SELECT 'views', string_agg(c.relname || ' ' || pg_get_userbyid(c.relowner) || ' ' ||
                                         coalesce(c.relacl::text, '-') || ' ' || pg_get_viewdef(c.oid), '; '
                                         ORDER BY c.relname)
    FROM pg_class c WHERE c.relnamespace = 'cols'::regnamespace AND c.relkind = 'v'
    UNION ALL SELECT 'table', coalesce(relacl::text, '-') || ' ' || relrowsecurity FROM pg_class
    WHERE oid = 'cols.customers'::regclass
    UNION ALL SELECT 'mail', fingerprint('cols.mail')
$$;
CREATE TABLE cols_before AS SELECT * FROM cols_state();

-- refused without a confirmation, nothing changed
SET SESSION AUTHORIZATION ag_agent;
SELECT split_part(why('ALTER TABLE cols.customers DROP COLUMN email CASCADE'), ' / ', 1) AS refused;
RESET SESSION AUTHORIZATION;
SELECT item FROM cols_state() EXCEPT SELECT item FROM cols_before;
SELECT count(*) AS changed FROM (SELECT * FROM cols_state() EXCEPT SELECT * FROM cols_before) x;

-- confirmed: it runs, and the column is kept with what CASCADE took
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('ALTER TABLE cols.customers DROP COLUMN email CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.customers DROP COLUMN email CASCADE;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT kind, original_schema, original_name, quarantined_as FROM agentguard.quarantine WHERE id = :entry;
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
-- gone as the statement says: the column, its index, the foreign key, the views, the policy
SELECT (SELECT count(*) FROM pg_attribute WHERE attrelid = 'cols.customers'::regclass AND attname = 'email') AS email,
       to_regclass('cols.emails') AS emails, to_regclass('cols.email_count') AS email_count,
       to_regclass('cols.customers_email_idx') AS idx,
       (SELECT count(*) FROM pg_constraint WHERE conrelid = 'cols.mail'::regclass AND contype = 'f') AS fks,
       (SELECT count(*) FROM pg_policies WHERE schemaname = 'cols') AS policies;

-- restore: every value and dependent is back
SELECT agentguard.restore(:entry);
SELECT * FROM (SELECT * FROM cols_state() EXCEPT SELECT * FROM cols_before) x ORDER BY 1;
SELECT count(*) AS entries FROM agentguard.quarantine WHERE id = :entry;
SELECT count(*) AS kept_tables FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace AND relname ~ '^q4\d\d_';

-- a lossy change of type (numeric to integer) comes back to the cent
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('ALTER TABLE cols.customers ALTER COLUMN credit TYPE integer') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.customers ALTER COLUMN credit TYPE integer;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT original_name FROM agentguard.quarantine WHERE id = :entry;
SELECT format_type(atttypid, atttypmod), sum(credit) FROM pg_attribute, cols.customers
WHERE attrelid = 'cols.customers'::regclass AND attname = 'credit' GROUP BY 1;
-- rows added and deleted since are counted in the answer
INSERT INTO cols.customers (id, email, credit) VALUES (1001, 'new@example.com', 7);
DELETE FROM cols.mail WHERE id = 2;
DELETE FROM cols.customers WHERE id = 2;
SELECT agentguard.restore(:entry);
SELECT format_type(atttypid, atttypmod), sum(credit) FROM pg_attribute, cols.customers
WHERE attrelid = 'cols.customers'::regclass AND attname = 'credit' GROUP BY 1;
SELECT credit FROM cols.customers WHERE id IN (1, 3, 1001) ORDER BY id;
DELETE FROM cols.customers WHERE id = 1001;
INSERT INTO cols.customers (id, email, phone, credit) VALUES (2, 'c2@example.com', '555-2', 2.50);
INSERT INTO cols.mail VALUES (2, 'c2@example.com');
SELECT item FROM (SELECT * FROM cols_state() EXCEPT SELECT * FROM cols_before) x ORDER BY 1;

-- under a new name; and a column whose name was taken since is refused until freed
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('ALTER TABLE cols.customers DROP COLUMN phone') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.customers DROP COLUMN phone;
ALTER TABLE cols.customers ADD COLUMN phone text DEFAULT 'new';
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT why(format('SELECT agentguard.restore(%s)', :entry));
SELECT why(format('SELECT agentguard.restore(%s, %L)', :entry, 'old_phone'));
ALTER TABLE cols.customers RENAME COLUMN phone TO new_phone;
SELECT agentguard.restore(:entry, 'old_phone');
SELECT count(*) FILTER (WHERE old_phone = '555-' || id) AS kept, count(*) FILTER (WHERE new_phone = 'new') AS new
FROM cols.customers;
ALTER TABLE cols.customers DROP COLUMN new_phone;
ALTER TABLE cols.customers RENAME COLUMN old_phone TO phone;
SELECT item FROM (SELECT * FROM cols_state() EXCEPT SELECT * FROM cols_before) x ORDER BY 1;

-- a serial column and an identity column come back counting where they were
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE cols.tickets (id int PRIMARY KEY, seq serial, ident bigint GENERATED BY DEFAULT AS IDENTITY, note text);
INSERT INTO cols.tickets (id, note) SELECT g, 'note ' || g FROM generate_series(1, 50) g;
SELECT request_of('ALTER TABLE cols.tickets DROP COLUMN seq, DROP COLUMN ident') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.tickets DROP COLUMN seq, DROP COLUMN ident;
RESET SESSION AUTHORIZATION;
SELECT to_regclass('cols.tickets_seq_seq') AS serial_sequence;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT agentguard.restore(:entry);
INSERT INTO cols.tickets (id, note) VALUES (51, 'after');
SELECT count(*) FILTER (WHERE seq = id AND ident = id) AS counted FROM cols.tickets;
SELECT pg_get_serial_sequence('cols.tickets', 'seq') AS seq, pg_get_serial_sequence('cols.tickets', 'ident') AS ident;

-- a table without a key: its rows are found by their other columns, rows
-- alike in all of them included
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE cols.loose (a int, b text, c text);
INSERT INTO cols.loose SELECT g % 7, CASE WHEN g % 5 = 0 THEN NULL ELSE 'b' || g % 3 END, 'c' || g
FROM generate_series(1, 60) g;
CREATE TABLE cols.loose_before AS SELECT md5(string_agg(l::text, ',' ORDER BY l::text)) AS print FROM cols.loose l;
SELECT request_of('ALTER TABLE cols.loose DROP COLUMN c') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.loose DROP COLUMN c;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT agentguard.restore(:entry);
SELECT md5(string_agg(l::text, ',' ORDER BY l::text)) = (SELECT print FROM cols.loose_before) AS same FROM cols.loose l;
-- a table with rows and nothing else to find them by: refused, nothing changed
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE cols.lone (v text);
INSERT INTO cols.lone VALUES ('only');
SELECT request_of('ALTER TABLE cols.lone DROP COLUMN v') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.lone DROP COLUMN v;
SELECT v FROM cols.lone;
RESET SESSION AUTHORIZATION;

-- a partitioned table: every partition's values come back
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE cols.events (id int, at date, payload text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE cols.events_2025 PARTITION OF cols.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE cols.events_2026 PARTITION OF cols.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO cols.events SELECT g, date '2025-06-01' + g, 'p' || g FROM generate_series(1, 400) g;
CREATE TABLE cols.events_before AS SELECT md5(string_agg(id || payload, ',' ORDER BY id)) FROM cols.events;
SELECT request_of('ALTER TABLE cols.events DROP COLUMN payload') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.events DROP COLUMN payload;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT agentguard.restore(:entry);
SELECT md5(string_agg(id || payload, ',' ORDER BY id)) = (SELECT * FROM cols.events_before) AS same FROM cols.events;

-- purge drops the kept values for good
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('ALTER TABLE cols.events DROP COLUMN payload') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
ALTER TABLE cols.events DROP COLUMN payload;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'column' \gset
SELECT agentguard.purge(:entry);
SELECT count(*) AS kept_tables FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace AND relname ~ '^q4\d\d_';

DROP SCHEMA cols CASCADE;
DROP FUNCTION cols_state();
DROP TABLE cols_before;

-- DROP SCHEMA ... CASCADE that takes a column of a table outside it, and a
-- view over that column: the column is kept, and restore brings both back
CREATE SCHEMA inventory AUTHORIZATION ag_agent;
SET SESSION AUTHORIZATION ag_agent;
CREATE TYPE inventory.condition AS ENUM ('new', 'used', 'broken');
CREATE TABLE inventory.parts (id int PRIMARY KEY, cond inventory.condition);
INSERT INTO inventory.parts SELECT g, 'used' FROM generate_series(1, 5) g;
CREATE TABLE public.cars (id int PRIMARY KEY, model text, cond inventory.condition DEFAULT 'new');
INSERT INTO public.cars SELECT g, 'model ' || g, (ARRAY['new', 'used', 'broken'])[1 + g % 3]::inventory.condition
FROM generate_series(1, 90) g;
CREATE INDEX cars_cond ON public.cars (cond);
CREATE VIEW public.broken_cars AS SELECT id, model FROM public.cars WHERE cond = 'broken';
COMMENT ON COLUMN public.cars.cond IS 'as inspected';
RESET SESSION AUTHORIZATION;
CREATE FUNCTION cars_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'cars', count(*) || ' ' || md5(string_agg(id || ':' || model || ':' || cond, ',' ORDER BY id)) FROM public.cars
    UNION ALL SELECT 'cond', format_type(atttypid, atttypmod) || ' ' || coalesce(pg_get_expr(adbin, adrelid), '-') || ' ' ||
                             col_description(attrelid, attnum)
    FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
    WHERE attrelid = 'public.cars'::regclass AND attname = 'cond'
    UNION ALL SELECT 'index', pg_get_indexdef('public.cars_cond'::regclass)
    UNION ALL SELECT 'view', pg_get_viewdef('public.broken_cars'::regclass) || (SELECT count(*) FROM public.broken_cars)
    UNION ALL SELECT 'parts', fingerprint('inventory.parts')
$$;
CREATE TABLE cars_before AS SELECT * FROM cars_state();
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP SCHEMA inventory CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP SCHEMA inventory CASCADE;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'schema' \gset
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
SELECT to_regnamespace('inventory') AS inventory, to_regclass('public.broken_cars') AS view,
       to_regclass('public.cars_cond') AS idx,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.cars'::regclass AND attname = 'cond') AS cond,
       (SELECT count(*) FROM public.cars) AS cars;
SELECT agentguard.restore(:entry);
SELECT * FROM (SELECT * FROM cars_state() EXCEPT SELECT * FROM cars_before) x ORDER BY 1;

-- DROP TABLE ... CASCADE that takes a column of another table of its row type
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE public.addresses (street text, city text);
CREATE TABLE public.shops (id int PRIMARY KEY, address public.addresses);
INSERT INTO public.shops SELECT g, ROW('street ' || g, 'city')::public.addresses FROM generate_series(1, 12) g;
CREATE TABLE shops_before AS SELECT fingerprint('public.shops') AS print;
SELECT request_of('DROP TABLE public.addresses CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TABLE public.addresses CASCADE;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'table' \gset
SELECT to_regclass('public.addresses') AS addresses,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.shops'::regclass AND attname = 'address') AS address;
SELECT agentguard.restore(:entry);
SELECT fingerprint('public.shops') = (SELECT print FROM shops_before) AS same;

-- DROP TYPE ... CASCADE and DROP DOMAIN ... CASCADE: the type moves into
-- quarantine with its checks, the columns of it are kept, and restore
-- brings the type back first, then the columns with every value
SET SESSION AUTHORIZATION ag_agent;
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN public.rating AS int CHECK (VALUE BETWEEN 1 AND 5);
CREATE TABLE public.reviews (id int PRIMARY KEY, mood public.mood, stars public.rating NOT NULL, moods public.mood[]);
INSERT INTO public.reviews SELECT g, (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::public.mood, 1 + g % 5,
    ARRAY['ok', 'happy']::public.mood[] FROM generate_series(1, 30) g;
SELECT request_of('DROP TYPE public.mood CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP TYPE public.mood CASCADE;
SELECT request_of('DROP DOMAIN public.rating CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP DOMAIN public.rating CASCADE;
RESET SESSION AUTHORIZATION;
SELECT to_regtype('public.mood') AS mood, to_regtype('public.rating') AS rating,
       string_agg(attname, ', ' ORDER BY attnum) AS columns
FROM pg_attribute WHERE attrelid = 'public.reviews'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT kind, original_schema, original_name FROM agentguard.quarantine
WHERE original_schema = 'public' AND original_name IN ('mood', 'rating') ORDER BY id;
SELECT agentguard.restore(max(id)) FROM agentguard.quarantine WHERE kind = 'definition' AND original_name = 'rating';
SELECT agentguard.restore(max(id)) FROM agentguard.quarantine WHERE kind = 'definition' AND original_name = 'mood';
SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END,
                  ', ' ORDER BY attname) AS columns
FROM pg_attribute WHERE attrelid = 'public.reviews'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT count(*) FILTER (WHERE r.mood = (ARRAY['sad', 'ok', 'happy'])[1 + r.id % 3]::public.mood
                          AND r.stars = 1 + r.id % 5 AND r.moods = ARRAY['ok', 'happy']::public.mood[]) AS same
FROM public.reviews r;
SELECT why('INSERT INTO public.reviews (id, stars) VALUES (99, 9)');

-- quarantine_drops = 'all': a DBA's DROP COLUMN and change of type are kept too
CREATE TABLE public.ledger (id int PRIMARY KEY, amount numeric(12, 2), memo text);
INSERT INTO public.ledger SELECT g, g * 10.05, 'memo ' || g FROM generate_series(1, 25) g;
CREATE TABLE ledger_before AS SELECT fingerprint('public.ledger') AS print;
SET agentguard.quarantine_drops = 'all';
ALTER TABLE public.ledger ALTER COLUMN amount TYPE int;
SELECT agentguard.restore(max(id)) FROM agentguard.quarantine WHERE kind = 'column';
ALTER TABLE public.ledger DROP COLUMN memo;
SELECT agentguard.restore(max(id)) FROM agentguard.quarantine WHERE kind = 'column';
-- both in one statement: refused, nothing changed
ALTER TABLE public.ledger DROP COLUMN memo, ALTER COLUMN amount TYPE int;
RESET agentguard.quarantine_drops;
SELECT fingerprint('public.ledger') = (SELECT print FROM ledger_before) AS same;
DROP TABLE public.ledger, ledger_before;

DROP TABLE public.shops, public.addresses, shops_before, cars_before, public.cars, public.reviews CASCADE;
DROP TYPE public.mood;
DROP DOMAIN public.rating;
DROP SCHEMA inventory CASCADE;
DROP FUNCTION cars_state();

-- DROP FUNCTION ... CASCADE: the functions move into quarantine; what used
-- them on a table that stays (a trigger, a default) is made again on
-- restore, and a view moves with them
SET SESSION AUTHORIZATION ag_agent;
CREATE FUNCTION public.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := lower(NEW.note); RETURN NEW; END $$;
CREATE TABLE public.notes (id int PRIMARY KEY, note text DEFAULT public.norm('NEW'));
CREATE TRIGGER notes_stamp BEFORE INSERT ON public.notes FOR EACH ROW EXECUTE FUNCTION public.stamp();
CREATE VIEW public.notes_view AS SELECT id, public.norm(note) AS n FROM public.notes;
INSERT INTO public.notes (id, note) SELECT g, 'Note ' || g FROM generate_series(1, 20) g;
RESET SESSION AUTHORIZATION;
CREATE FUNCTION notes_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'rows', count(*) || ' ' || md5(string_agg(id || ':' || note, ',' ORDER BY id)) FROM public.notes
    UNION ALL SELECT 'default', pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.notes'::regclass
    UNION ALL SELECT 'trigger', pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'notes_stamp'
    UNION ALL SELECT 'view', pg_get_viewdef('public.notes_view'::regclass) || (SELECT count(*) FROM public.notes_view)
$$;
CREATE TABLE notes_before AS SELECT * FROM notes_state();
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP FUNCTION public.norm(text), public.stamp() CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP FUNCTION public.norm(text), public.stamp() CASCADE;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'definition' \gset
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
SELECT to_regprocedure('public.norm(text)') AS norm, to_regclass('public.notes_view') AS view,
       (SELECT count(*) FROM pg_trigger WHERE tgname = 'notes_stamp') AS triggers,
       (SELECT count(*) FROM pg_attrdef WHERE adrelid = 'public.notes'::regclass) AS defaults;
SELECT agentguard.restore(:entry);
SELECT * FROM (SELECT * FROM notes_state() EXCEPT SELECT * FROM notes_before) x ORDER BY 1;

-- an index, a check and a generated column that call an agent's function
-- would run it if restore made them again: restore refuses, changing
-- nothing, and says what would run
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE public.tags (id int PRIMARY KEY, tag text CHECK (public.norm(tag) <> 'forbidden'),
    lowered text GENERATED ALWAYS AS (public.norm(tag)) STORED);
CREATE INDEX tags_norm ON public.tags (public.norm(tag));
INSERT INTO public.tags (id, tag) SELECT g, 'Tag ' || g FROM generate_series(1, 10) g;
SELECT request_of('DROP FUNCTION public.norm(text) CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP FUNCTION public.norm(text) CASCADE;
RESET SESSION AUTHORIZATION;
SELECT max(id) AS entry FROM agentguard.quarantine WHERE kind = 'definition' \gset
SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = :entry ORDER BY position;
\set VERBOSITY default
SELECT agentguard.restore(:entry);
\set VERBOSITY terse
SELECT to_regprocedure('public.norm(text)') AS norm, to_regclass('public.tags_norm') AS idx,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.tags'::regclass AND attname = 'lowered') AS lowered;
SELECT agentguard.purge(:entry);
DROP TABLE public.notes, notes_before, public.tags CASCADE;
DROP FUNCTION notes_state(), public.stamp();

-- DROP INDEX keeps the index's definition: restore builds it again, with
-- its comment and the foreign key its CASCADE took; CONCURRENTLY too
SET SESSION AUTHORIZATION ag_agent;
CREATE TABLE public.accounts (id int PRIMARY KEY, email text NOT NULL, city text);
CREATE UNIQUE INDEX accounts_email ON public.accounts (lower(email)) WHERE email <> '' ;
CREATE UNIQUE INDEX accounts_email_key ON public.accounts (email);
COMMENT ON INDEX public.accounts_email IS 'one account per address';
CREATE INDEX accounts_city ON public.accounts (city) WITH (fillfactor = 70);
CREATE TABLE public.logins (id int PRIMARY KEY, email text REFERENCES public.accounts (email));
INSERT INTO public.accounts SELECT g, 'a' || g || '@example.com', 'city ' || g % 4 FROM generate_series(1, 30) g;
INSERT INTO public.logins SELECT g, 'a' || g || '@example.com' FROM generate_series(1, 10) g;
RESET SESSION AUTHORIZATION;
CREATE FUNCTION accounts_state() RETURNS TABLE (item text, value text) LANGUAGE sql AS $$
    SELECT 'indexes', string_agg(pg_get_indexdef(indexrelid) || coalesce(' -- ' || obj_description(indexrelid, 'pg_class'), ''),
                                 '; ' ORDER BY indexrelid::regclass::text)
    FROM pg_index WHERE indrelid = 'public.accounts'::regclass
    UNION ALL SELECT 'fk', string_agg(conname || ' ' || pg_get_constraintdef(oid), '; ')
    FROM pg_constraint WHERE conrelid = 'public.logins'::regclass AND contype = 'f'
$$;
CREATE TABLE accounts_before AS SELECT * FROM accounts_state();
SET SESSION AUTHORIZATION ag_agent;
SELECT request_of('DROP INDEX public.accounts_email, public.accounts_email_key CASCADE') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP INDEX public.accounts_email, public.accounts_email_key CASCADE;
SELECT request_of('DROP INDEX CONCURRENTLY public.accounts_city') AS code \gset
\set token `:sign :'code' 2>/dev/null`
SELECT agentguard.confirm(:'token') ~ '^confirmed' AS confirmed;
DROP INDEX CONCURRENTLY public.accounts_city;
RESET SESSION AUTHORIZATION;
-- an index is kept as its definition; quarantine_objects says it is an index
SELECT q.kind, o.kind AS member, q.original_schema, q.original_name
FROM agentguard.quarantine q JOIN agentguard.quarantine_objects o ON o.id = q.id AND o.position = 0
WHERE q.kind = 'definition' AND q.original_name LIKE 'accounts%' ORDER BY q.id;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'public.accounts'::regclass;
SELECT count(*) AS fks FROM pg_constraint WHERE conrelid = 'public.logins'::regclass AND contype = 'f';
SELECT why(format('SELECT agentguard.restore(%s, %L)', max(id), 'other')) FROM agentguard.quarantine WHERE kind = 'definition' AND original_name LIKE 'accounts%';
SELECT agentguard.restore(id) FROM agentguard.quarantine WHERE kind = 'definition' AND original_name LIKE 'accounts%' ORDER BY id;
SELECT * FROM (SELECT * FROM accounts_state() EXCEPT SELECT * FROM accounts_before) x ORDER BY 1;
DROP TABLE public.logins, public.accounts, accounts_before;
DROP FUNCTION accounts_state();
