# Updating in place: a database whose extension was created at 1.0, with
# signers, a used token, audit rows and quarantine entries of every kind 1.0
# keeps, is updated with ALTER EXTENSION agentguard UPDATE.  Every entry then
# comes back with every row, the audit and signers are kept, and the used
# token stays used.  Until the update, the library serves the 1.0 objects.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $key = PostgreSQL::Test::Utils::tempdir() . '/dba.pem';
my $public_key = keygen($key);
my $old_public_key = keygen(PostgreSQL::Test::Utils::tempdir() . '/old.pem');

my $node = guarded_node('update');
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE reports');
$node->safe_psql('postgres', 'CREATE DATABASE archive');

sub dba
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'app', $sql);
}

# as the agent "bot"; returns (exit status, stdout, stderr)
sub bot
{
	my ($sql) = @_;
	return $node->psql('app', $sql, connstr => $node->connstr('app') . ' user=bot');
}

dba(qq{
	CREATE EXTENSION agentguard VERSION '1.0';
	SELECT agentguard.add_signer('dba', '$public_key');
	SELECT agentguard.add_signer('old', '$old_public_key');
	SELECT agentguard.remove_signer('old');
});
is(dba("SELECT extversion FROM pg_extension WHERE extname = 'agentguard'"), '1.0',
	'the extension is created at 1.0');

# what each 1.0 kind keeps: tables with rows and what depends on them, a view,
# a materialized view, a sequence, a foreign table, a partitioned table, a
# partition dropped alone, a schema, a truncated table
dba(q{
	CREATE ROLE bot LOGIN;
	SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
	CREATE TABLE customers(id int PRIMARY KEY, name text);
	INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 200) g;
	CREATE TABLE orders(id int PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
	INSERT INTO orders SELECT g, 1 + g % 200, g * 1.5 FROM generate_series(1, 500) g;
	CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 500;
	ALTER TABLE orders OWNER TO bot;
	GRANT REFERENCES ON customers TO bot;
	CREATE TABLE notes(id int, note text);
	INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 300) g;
	CREATE VIEW recent_notes AS SELECT * FROM notes WHERE id > 250;
	CREATE MATERIALIZED VIEW note_counts AS SELECT id % 10 AS bucket, count(*) FROM notes GROUP BY 1;
	CREATE SEQUENCE invoice_numbers START 1000;
	SELECT nextval('invoice_numbers') FROM generate_series(1, 42);
	CREATE FOREIGN DATA WRAPPER nowhere;
	CREATE SERVER nowhere_server FOREIGN DATA WRAPPER nowhere;
	CREATE FOREIGN TABLE remote_rates(currency text, rate numeric) SERVER nowhere_server;
	CREATE TABLE events(at date, what text) PARTITION BY RANGE (at);
	CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
	CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
	INSERT INTO events SELECT date '2025-06-01' + g, 'event ' || g FROM generate_series(1, 400) g;
	CREATE TABLE measurements(at date, value int) PARTITION BY RANGE (at);
	CREATE TABLE measurements_old PARTITION OF measurements FOR VALUES FROM ('2000-01-01') TO ('2020-01-01');
	CREATE TABLE measurements_new PARTITION OF measurements FOR VALUES FROM ('2020-01-01') TO ('2030-01-01');
	INSERT INTO measurements SELECT date '2010-01-01' + g * 10, g FROM generate_series(1, 700) g;
	CREATE SCHEMA billing;
	CREATE TABLE billing.invoices(id int PRIMARY KEY, amount numeric);
	INSERT INTO billing.invoices SELECT g, g FROM generate_series(1, 150) g;
	CREATE FUNCTION billing.total() RETURNS numeric LANGUAGE sql AS 'SELECT sum(amount) FROM billing.invoices';
	CREATE TABLE sessions(id int, token text);
	INSERT INTO sessions SELECT g, md5(g::text) FROM generate_series(1, 250) g;
});
dba(q{
	CREATE TABLE monthly(month int PRIMARY KEY, revenue numeric);
	INSERT INTO monthly SELECT g, g * 1000 FROM generate_series(1, 12) g;
}, 'reports');
dba(q{
	CREATE TABLE old_invoices(id int PRIMARY KEY, amount numeric);
	INSERT INTO old_invoices SELECT g, g FROM generate_series(1, 80) g;
}, 'archive');

# the rows of every table, as a count and a checksum
my %tables = (
	app => [
		qw(customers orders notes events events_2025 events_2026 measurements
		  measurements_old measurements_new billing.invoices sessions)
	],
	reports => ['monthly'],
	archive => ['old_invoices']);
sub checksums
{
	my %sums;
	for my $db (sort keys %tables)
	{
		$sums{"$db.$_"} = dba("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM $_ t", $db)
		  foreach @{ $tables{$db} };
	}
	$sums{'app.big_orders'} = dba("SELECT count(*) FROM big_orders");
	$sums{'app.recent_notes'} = dba("SELECT count(*) FROM recent_notes");
	$sums{'app.note_counts'} = dba("SELECT string_agg(bucket || '=' || count, ',' ORDER BY bucket) FROM note_counts");
	$sums{'app.invoice_numbers'} = dba("SELECT last_value FROM invoice_numbers");
	$sums{'app.billing.total'} = dba("SELECT billing.total()");
	return \%sums;
}
my $before = checksums();
my $objects_sql = q{
	SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
	WHERE c.relnamespace IN ('public'::regnamespace, coalesce(to_regnamespace('billing'), 0))
	  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
};
my $objects_before = dba($objects_sql);
my $fk_sql = q{SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fkey'};

# the agent drops a table under a DBA's token, at 1.0: the token is used,
# and the table with its view goes into quarantine
my ($ret, $stdout, $stderr) = bot('DROP TABLE orders CASCADE');
isnt($ret, 0, 'at 1.0 the agent\'s DROP is refused');
my $code = request_code($stderr);
ok(defined $code, 'with a request code');
my $token = sign($key, $code);
($ret, $stdout, $stderr) = bot("SELECT agentguard.confirm('$token')");
is($ret, 0, 'the DBA\'s token is confirmed at 1.0') or diag($stderr);
($ret, $stdout, $stderr) = bot('DROP TABLE orders CASCADE');
is($ret, 0, 'and the DROP runs under it') or diag($stderr);
is(dba(q{SELECT to_regclass('orders') IS NULL AND to_regclass('big_orders') IS NULL}), 't',
	'the table and its view are out of sight');

# every other 1.0 kind, by a DBA with quarantine_drops = 'all'
for my $statement (
	'DROP TABLE customers',
	'DROP VIEW recent_notes',
	'DROP MATERIALIZED VIEW note_counts',
	'DROP SEQUENCE invoice_numbers',
	'DROP FOREIGN TABLE remote_rates',
	'DROP TABLE events',
	'DROP TABLE measurements_old',
	'DROP SCHEMA billing CASCADE',
	'TRUNCATE sessions')
{
	dba("SET agentguard.quarantine_drops = 'all'; $statement");
}
dba(q{SET agentguard.quarantine_drops = 'all'; DROP DATABASE reports}, 'postgres');

# a database quarantined by the 1.0 library kept its record in its comment
my $archive_oid = dba("SELECT oid FROM pg_database WHERE datname = 'archive'", 'postgres');
dba(qq{
	ALTER DATABASE archive RENAME TO agentguard_q${archive_oid}_archive;
	ALTER DATABASE agentguard_q${archive_oid}_archive ALLOW_CONNECTIONS false;
	COMMENT ON DATABASE agentguard_q${archive_oid}_archive IS
	  '{"agentguard": 1, "original": "archive", "dropped_by": "postgres", "allow_connections": true, "comment": null, "statement": "DROP DATABASE archive", "dropped_at": "2026-11-30T10:00:00+00:00", "expires_at": "2099-12-07T10:00:00+00:00"}';
}, 'postgres');

is(dba($objects_sql), 'measurements measurements_new notes sessions', 'at 1.0 every dropped object is gone from sight');
is(dba(q{SELECT count(*) FROM sessions}), '0', 'and the truncated table is empty');
is(dba(q{SELECT string_agg(kind || ':' || original_name, ' ' ORDER BY id) FROM agentguard.quarantine WHERE id > 0}),
	'table:orders table:customers view:recent_notes materialized view:note_counts sequence:invoice_numbers foreign table:remote_rates partitioned table:events partition:measurements_old schema:billing truncate:sessions',
	'the 1.0 view lists the entries');
is(dba(q{SELECT original_name FROM agentguard.quarantine WHERE id < 0}), 'archive',
	'and the database that 1.0 recorded in its comment');
my $audit_before = dba(q{SELECT count(*) || ':' || md5(string_agg(a::text, ',' ORDER BY id)) FROM agentguard.audit a});
like(dba(q{SELECT string_agg(DISTINCT event, ' ' ORDER BY event) FROM agentguard.audit}), qr/^add_signer confirm quarantine remove_signer use$/,
	'the audit has rows of every event so far');
my $signers_before = dba(q{SELECT string_agg(s::text, ' ' ORDER BY name) FROM agentguard.signers s});

# the update, to the default version
$node->safe_psql('app', 'ALTER EXTENSION agentguard UPDATE');
is(dba("SELECT extversion = default_version FROM pg_extension, pg_available_extensions WHERE extname = 'agentguard' AND name = extname"),
	't', 'ALTER EXTENSION agentguard UPDATE brings it to the default version');
isnt(dba("SELECT default_version FROM pg_available_extensions WHERE name = 'agentguard'"), '1.0',
	'which is past 1.0');
is(dba(q{SELECT count(*) || ':' || md5(string_agg(a::text, ',' ORDER BY id)) FROM agentguard.audit a}),
	$audit_before, 'the audit rows are kept');
is(dba(q{SELECT string_agg(s::text, ' ' ORDER BY name) FROM agentguard.signers s}),
	$signers_before, 'and the signers');
is(dba(q{SELECT count(*) FROM agentguard.quarantine WHERE id > 0}), '10', 'every entry is listed');
is(dba(q{SELECT string_agg(original_name, ' ' ORDER BY original_name) FROM agentguard.quarantine WHERE kind = 'database'}),
	'archive reports', 'the database entries too, 1.0\'s record adopted');

# the token stays used
($ret, $stdout, $stderr) = bot("SELECT agentguard.confirm('$token')");
like($stderr, qr/ERROR:  agentguard: token refused: it was already used/, 'the used token is refused after the update');
($ret, $stdout, $stderr) = bot('SELECT 1 FROM orders');
like($stderr, qr/relation "orders" does not exist/, 'and the table stays dropped until restored');

# every entry restored, the newest first, as undoing goes (orders' foreign
# key needs customers back)
for my $id (split /\n/, dba(q{SELECT id FROM agentguard.quarantine ORDER BY dropped_at DESC, id DESC}))
{
	like(dba("SELECT agentguard.restore($id)"), qr/^restored /, "entry $id is restored");
}
is(dba(q{SELECT count(*) FROM agentguard.quarantine}), '0', 'nothing is left in quarantine');
is(dba($objects_sql), $objects_before, 'every table, view, sequence and foreign table is back');
is(dba($fk_sql), '1', 'with the foreign key the CASCADE took');
is(dba(q{SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid}),
	'events_2025 events_2026 measurements_new measurements_old', 'and the partitions attached');
my $after = checksums();
is($after->{$_}, $before->{$_}, "$_ has every row back") foreach sort keys %$before;
is(dba(q{SELECT datallowconn FROM pg_database WHERE datname = 'archive'}, 'postgres'), 't',
	'the database 1.0 quarantined is open again');

# and the used token is still refused, the DROP refused again
($ret, $stdout, $stderr) = bot("SELECT agentguard.confirm('$token')");
like($stderr, qr/ERROR:  agentguard: token refused: it was already used/, 'the token stays used after restore');
($ret, $stdout, $stderr) = bot('DROP TABLE orders CASCADE');
like($stderr, qr/ERROR:  agentguard: refused to drop table/, 'and the restored table is guarded again');

$node->stop;
done_testing();
