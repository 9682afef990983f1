# docs/runbook.md, followed step by step: each section below does what the
# section of the same number tells a DBA to do, with the installed agentguard
# program and psql, and checks that the outcome is what the runbook says.
# When one of these tests fails, the runbook or the product is wrong.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

$ENV{PG_CONFIG} //= 'pg_config';
my $bindir = `$ENV{PG_CONFIG} --bindir`;
chomp $bindir;
my $agentguard = "$bindir/agentguard";
my $psql = "$bindir/psql";
my $keydir = PostgreSQL::Test::Utils::tempdir();
my $key = "$keydir/dba.pem";
my $new_key = "$keydir/dba-2027.pem";

my $node = PostgreSQL::Test::Cluster->new('runbook');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'agentguard'\n");
$node->start;

# runs a program with INPUT on stdin; returns (exit status, stdout, stderr)
sub command
{
	my ($input, @cmd) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(\@cmd, '<', \$input, '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

# the DBA: a superuser, not an agent
sub dba
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'rentals', $sql);
}

# the DBA, for a statement that should fail; returns its stderr
sub dba_fails
{
	my ($sql, $db) = @_;
	my ($ret, $stdout, $stderr) = $node->psql($db // 'rentals', $sql);
	isnt($ret, 0, "fails: $sql");
	return $stderr;
}

# SQL as an agent role; returns (exit status, stdout, stderr)
sub agent
{
	my ($sql, $role, $db) = @_;
	$db //= 'rentals';
	return $node->psql($db, $sql,
		connstr => $node->connstr($db) . ' user=' . ($role // 'coding_agent'));
}

sub code_of
{
	my ($stderr) = @_;
	my ($code) = $stderr =~ /^DETAIL:  request: (agr1\.[A-Za-z0-9_-]+)$/m;
	return $code;
}

# a statement the agent is refused; returns its request code
sub refused
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = agent($sql);
	isnt($ret, 0, "the agent is refused: $sql");
	like($stderr, qr/ERROR:  agentguard: refused to /, 'with agentguard\'s error');
	my $code = code_of($stderr);
	ok(defined $code, 'and a request code');
	return $code;
}

sub runs
{
	my ($sql, $what) = @_;
	my ($ret, $stdout, $stderr) = agent($sql);
	is($ret, 0, $what // "the agent's statement runs: $sql") or diag($stderr);
	return $stdout;
}

my $rentals = $node->connstr('rentals');

# "agentguard approve --yes --key KEY CONNINFO CODE" for steps of the test
# that the section at hand does not teach
sub approved
{
	my ($code, $with_key, $connstr) = @_;
	my ($ret, $stdout, $stderr) =
	  command('', $agentguard, 'approve', '--yes', '--key', $with_key // $key, $connstr // $rentals, $code);
	is($ret, 0, 'approved') or diag($stderr);
}

# what the test needs that the runbook takes as given: databases, roles, data
$node->safe_psql('postgres', q{
	CREATE DATABASE rentals;
	CREATE DATABASE billing;
	CREATE ROLE app_owner NOLOGIN;
	CREATE ROLE coding_agent LOGIN IN ROLE app_owner;
	CREATE ROLE review_bot LOGIN;
	CREATE DATABASE reports OWNER app_owner;
});
$node->safe_psql('rentals', q{
	GRANT CREATE ON DATABASE rentals TO app_owner;
	GRANT CREATE ON SCHEMA public TO app_owner;
	CREATE SCHEMA archive AUTHORIZATION app_owner;
	SET ROLE app_owner;
	CREATE TABLE legacy_bookings (id int PRIMARY KEY, note text);
	INSERT INTO legacy_bookings SELECT g, 'booking ' || g FROM generate_series(1, 300) g;
	CREATE TABLE orders (id int, customer text);
	INSERT INTO orders SELECT g, 'c' || g FROM generate_series(1, 50) g;
	CREATE TABLE scratch_notes (note text);
	CREATE TABLE notes_a (note text);
	INSERT INTO notes_a VALUES ('kept');
	CREATE TABLE notes_b (note text);
	CREATE TABLE old_report (line text);
	CREATE TABLE archive.reports (line text);
	INSERT INTO archive.reports VALUES ('q1'), ('q2');
	CREATE TABLE old_orders (id int, customer text);
	INSERT INTO old_orders SELECT g, 'c' || g FROM generate_series(1, 40) g;
	CREATE TABLE customers (id int, name text, legacy_code text);
	INSERT INTO customers SELECT g, 'c' || g, 'L' || g FROM generate_series(1, 40) g;
	CREATE TABLE staging (id int);
	INSERT INTO staging SELECT generate_series(1, 25);
	CREATE TABLE events (id int);
	INSERT INTO events SELECT generate_series(1, 20);
	CREATE TABLE invoices (id int PRIMARY KEY, amount int);
	INSERT INTO invoices SELECT g, g * 10 FROM generate_series(1, 40) g;
});
$node->safe_psql('reports', 'CREATE TABLE monthly (m int); INSERT INTO monthly SELECT generate_series(1, 12);');

# ---- 1. Setting up ----

# 1.1 the environment name, set later without a restart
dba(q{ALTER SYSTEM SET agentguard.environment = 'production'}, 'postgres');
dba('SELECT pg_reload_conf()', 'postgres');
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.environment') = 'production'})
  or die 'the environment name was not reloaded';
is(dba('SHOW agentguard.environment', 'postgres'), 'production', '1.1 SHOW agentguard.environment');

# 1.2 the extension in each database, and in postgres
dba('CREATE EXTENSION agentguard', $_) for qw(rentals billing postgres);

# 1.3 a signing key
my ($ret, $stdout, $stderr) = command('', $agentguard, 'keygen', '--out', $key);
is($ret, 0, '1.3 agentguard keygen');
like($stderr, qr/^private key written to .*dba\.pem \(keep it secret; it never goes into the database\)$/m,
	'says where the private key went');
like($stdout, qr/\Aagk1\.[A-Za-z0-9_-]+\n\z/, 'the public key is the one line on stdout');
chomp(my $public_key = $stdout);
is((stat $key)[2] & 07777, 0600, 'the key file has mode 0600');
($ret, $stdout, $stderr) = command('', $agentguard, 'keygen', '--out', $key);
isnt($ret, 0, 'keygen refuses to overwrite a key file');

# 1.4 trusted in each database that has the extension
dba("SELECT agentguard.add_signer('alice', '$public_key')", $_) for qw(rentals billing postgres);
is(dba('SELECT name FROM agentguard.signers WHERE removed_at IS NULL'), 'alice', '1.4 alice is a signer');

# 1.5 the agents' roles, one directly and one through a group
dba(q{SECURITY LABEL FOR agentguard ON ROLE coding_agent IS 'agent'});
dba(q{CREATE ROLE ai_agents NOLOGIN;
	SECURITY LABEL FOR agentguard ON ROLE ai_agents IS 'agent';
	GRANT ai_agents TO review_bot;});
is(runs('SELECT agentguard.is_agent_session()'), 't', '1.5 coding_agent is an agent');
($ret, $stdout) = agent('SELECT agentguard.is_agent_session()', 'review_bot');
is($stdout, 't', 'and so is review_bot, through ai_agents');
is(dba(q{SELECT r.rolname, l.label FROM pg_shseclabel l JOIN pg_roles r ON r.oid = l.objoid
   WHERE l.provider = 'agentguard' ORDER BY 1}),
	"ai_agents|agent\ncoding_agent|agent", 'the labels are listed');

# ---- 2. Approving a request ----

($ret, $stdout, $stderr) = agent('DROP TABLE legacy_bookings');
isnt($ret, 0, '2 the agent\'s DROP is refused');
like($stderr, qr/ERROR:  agentguard: refused to drop table public\.legacy_bookings\nDETAIL:  request: agr1\.\S+\nAgent sessions need a DBA's signed confirmation for statements that destroy data\.\nHINT:  /m,
	'with the error, the request code and a hint');
my $code = code_of($stderr);
is(dba('SELECT count(*) FROM legacy_bookings'), '300', 'and nothing changed');

# 2.1 what is waiting
is(dba('SELECT role, database, action, objects, statement, times, code FROM agentguard.requests LIMIT 1'),
	"coding_agent|rentals|DROP TABLE|public.legacy_bookings|DROP TABLE legacy_bookings|1|$code",
	'2.1 agentguard.requests lists it, newest first, with its code');
($ret, $stdout, $stderr) = agent('SELECT * FROM agentguard.requests');
isnt($ret, 0, 'the agent cannot read agentguard.requests');

# 2.2 read it
($ret, $stdout, $stderr) = command('', $agentguard, 'inspect', $code);
is($ret, 0, '2.2 agentguard inspect');
like($stdout,
	qr/\Aenvironment: production\naction: +DROP TABLE\nobjects: +public\.legacy_bookings\ndatabase: +rentals\ncluster: +\d+\nrole: +coding_agent\nstatement: +DROP TABLE legacy_bookings\n/,
	'shows the environment first, then action, objects, database, cluster, role, statement');

# 2.3 approve: the newest refusal in the database connected to, asked on the terminal
($ret, $stdout, $stderr) = command("y\n", $agentguard, 'approve', '--key', $key, $rentals);
is($ret, 0, '2.3 agentguard approve, answered y');
like($stderr, qr/\Arequest refused 1 time, last at [^\n]+:\nenvironment: production\n/, 'shows the request');
like($stderr, qr/^statement: +DROP TABLE legacy_bookings\napprove\? \[y\/N\] valid for 15m, until /m,
	'asks, then signs for 15 minutes');
like($stdout, qr/\Aconfirmed: role coding_agent may run this once, until /, 'and confirms it');

# 2.4 the agent runs it again, once; the table goes into quarantine
runs('DROP TABLE legacy_bookings', '2.4 the agent\'s retry runs');
is(dba(q{SELECT original_name FROM agentguard.quarantine}), 'legacy_bookings',
	'a confirmed DROP TABLE is quarantined');

# approve with a code, --ttl and --yes; other answers approve nothing
my $code_truncate = refused('TRUNCATE orders');
my $code_newer = refused('DROP TABLE scratch_notes');
($ret, $stdout, $stderr) = command("n\n", $agentguard, 'approve', '--key', $key, $rentals, $code_truncate);
is($ret, 1, 'answering n signs nothing, with exit status 1');
refused('TRUNCATE orders');
($ret, $stdout, $stderr) =
  command('', $agentguard, 'approve', '--yes', '--ttl', '5m', '--key', $key, $rentals, $code_truncate);
is($ret, 0, 'approve --yes --ttl 5m with a code');
like($stderr, qr/^statement: +TRUNCATE orders\nvalid for 5m, until /m, 'approves that code, for 5 minutes');
runs('TRUNCATE orders');
refused('DROP TABLE scratch_notes');

# by hand: sign, then confirm from the DBA's session
dba(q{INSERT INTO orders SELECT g, 'c' || g FROM generate_series(1, 50) g});
$code = refused(q{UPDATE orders SET customer = 'x'});
($ret, $stdout, $stderr) = command('', $agentguard, 'sign', '--key', $key, '--ttl', '15m', $code);
is($ret, 0, 'by hand: agentguard sign');
like($stderr, qr/\Asigning this request:\nenvironment: production\n/, 'shows what it signs on stderr');
like($stdout, qr/\Aagt1\.[A-Za-z0-9_-]+\n\z/, 'and prints the token alone on stdout');
chomp(my $token = $stdout);
($ret, $stdout, $stderr) = command('', $agentguard, 'inspect', $token);
like($stdout, qr/\Atoken approving:\nenvironment: production\n/, 'inspect reads the token');
like(dba("SELECT agentguard.confirm('$token')"), qr/\Aconfirmed: role coding_agent may run this once/,
	'the DBA confirms it');
runs(q{UPDATE orders SET customer = 'x'});
refused(q{UPDATE orders SET customer = 'x'});
is(dba("SELECT string_agg(event, ' ' ORDER BY id) FROM agentguard.audit WHERE request = '$code'"),
	'confirm use', 'the audit table has the confirmation and its use');
is(dba(q{SELECT count(*) > 0 FROM (SELECT at, event, by_role, action, objects, detail FROM agentguard.audit
   WHERE event IN ('confirm', 'use') ORDER BY at DESC LIMIT 20) a}), 't', 'the runbook\'s audit query');

# refused outright: no request code, nothing to approve
($ret, $stdout, $stderr) = agent(q{SET agentguard.mode = 'off'});
like($stderr, qr/ERROR:  agentguard: agent sessions cannot change agentguard settings/, 'changing a setting is refused');
ok(!defined code_of($stderr), 'without a request code');

# ---- 3. Restoring a quarantined table ----

my $entry = dba(q{SELECT id FROM agentguard.quarantine WHERE original_name = 'legacy_bookings'});
is(dba(qq{SELECT id, kind, original_schema, original_name, dropped_by, dropped_at <= now(), expires_at > now()
   FROM agentguard.quarantine WHERE original_name = 'legacy_bookings' ORDER BY id DESC}),
	"$entry|table|public|legacy_bookings|coding_agent|t|t", '3.1 the entry');
like(dba("SELECT string_agg(original_name, ' ' ORDER BY position) FROM agentguard.quarantine_objects WHERE id = $entry"),
	qr/^legacy_bookings legacy_bookings_pkey/, 'and what it moved');
my $quarantined_as = dba("SELECT quarantined_as FROM agentguard.quarantine WHERE id = $entry");
is($quarantined_as, "agentguard_quarantine.q${entry}_legacy_bookings", 'named q<id>_<name>');
is(dba("SELECT count(*) FROM $quarantined_as"), '300', '3.2 the DBA can look inside');
is(dba("SELECT agentguard.restore($entry)"), 'restored public.legacy_bookings', '3.3 restore');
is(dba('SELECT count(*) FROM legacy_bookings'), '300', 'brings back every row');
is(dba("SELECT count(*) FROM agentguard.quarantine WHERE id = $entry"), '0', 'and the entry is gone');

# 3.4 the name is taken; under a new name, its index takes the new name
approved(refused('DROP TABLE legacy_bookings'));
runs('DROP TABLE legacy_bookings');
$entry = dba(q{SELECT id FROM agentguard.quarantine WHERE original_name = 'legacy_bookings'});
runs('CREATE TABLE legacy_bookings (id int PRIMARY KEY, note text)', 'the agent makes a new table of that name');
like(dba_fails("SELECT agentguard.restore($entry)"),
	qr/ERROR:  agentguard: cannot restore quarantine entry $entry: "public\.legacy_bookings" already exists\nHINT:  Restore under another name: SELECT agentguard\.restore\($entry, 'new_name'\)\./,
	'3.4 restore refuses a taken name');
is(dba("SELECT agentguard.restore($entry, 'legacy_bookings_old')"), 'restored public.legacy_bookings_old',
	'it restores under the new name beside the new table');
is(dba(q{SELECT string_agg(indexrelid::regclass::text, ' ' ORDER BY 1) FROM pg_index
   WHERE indrelid IN ('legacy_bookings'::regclass, 'legacy_bookings_old'::regclass)}),
	'legacy_bookings_old_pkey legacy_bookings_pkey', 'its index named after the new name, the new table\'s untouched');
is(dba('SELECT count(*) FROM legacy_bookings_old'), '300', 'with every row');

# 3.5 the schema is gone
approved(refused('DROP TABLE archive.reports'));
runs('DROP TABLE archive.reports');
$entry = dba(q{SELECT id FROM agentguard.quarantine WHERE original_name = 'reports'});
dba('DROP SCHEMA archive');
like(dba_fails("SELECT agentguard.restore($entry)"), qr/schema "archive" is gone/, '3.5 restore says the schema is gone');
dba('CREATE SCHEMA archive AUTHORIZATION app_owner');
is(dba("SELECT agentguard.restore($entry)"), 'restored archive.reports', 'and restores once it is back');
is(dba('SELECT count(*) FROM archive.reports'), '2', 'with its rows');

# a schema, replaced by an empty one of the same name
approved(refused('DROP SCHEMA archive CASCADE'));
runs('DROP SCHEMA archive CASCADE');
runs('CREATE SCHEMA archive', 'the agent makes a new schema of that name');
my $quarantined_schema;
($entry, $quarantined_schema) = split /\|/,
  dba(q{SELECT id, original_name, quarantined_as FROM agentguard.quarantine WHERE kind = 'schema'});
is($quarantined_schema, 'archive', 'the schema\'s entry');
my $kept_as = dba("SELECT quarantined_as FROM agentguard.quarantine WHERE id = $entry");
is($kept_as, "agentguard_q${entry}_archive", 'kept whole under agentguard_q<id>_<name>');
is(dba("SELECT count(*) FROM $kept_as.reports"), '2', 'the DBA can look inside');
like(dba_fails("SELECT agentguard.restore($entry)"),
	qr/ERROR:  agentguard: cannot restore quarantine entry $entry: schema "archive" already exists\nHINT:  Restore under another name: SELECT agentguard\.restore\($entry, 'new_name'\)\./,
	'restore refuses the taken name');
is(dba("SELECT agentguard.restore($entry, 'archive_old')"), 'restored archive_old', 'and restores under another');
is(dba('SELECT count(*) FROM archive_old.reports'), '2', 'with everything in it');

# truncated rows, next to rows added since
approved(refused('TRUNCATE invoices'));
runs('TRUNCATE invoices');
$entry = dba(q{SELECT id FROM agentguard.quarantine WHERE kind = 'truncate' AND original_name = 'invoices'});
is(dba("SELECT kind, original_schema, original_name FROM agentguard.quarantine_objects WHERE id = $entry"),
	'rows|public|invoices', 'the entry of a TRUNCATE names the table it emptied');
runs('INSERT INTO invoices VALUES (1, 999), (1000, 1)', 'the agent adds rows, one with a key of the old ones');
like(dba_fails("SELECT agentguard.restore($entry)"), qr/duplicate key value violates unique constraint "invoices_pkey"/,
	'a clash makes restore fail');
is(dba('SELECT count(*) FROM invoices'), '2', 'and change nothing');
dba('DELETE FROM invoices WHERE id = 1');
is(dba("SELECT agentguard.restore($entry)"),
	'restored public.invoices (public.invoices had 1 row added since, kept beside the ones put back)',
	'with the new row moved away, restore copies the rows back beside the one added since, and says so');
is(dba('SELECT count(*), sum(amount) FROM invoices'), '41|8201', 'puts the rows back next to the one added since');

# a database, dropped from postgres, restored from any database with the extension
my $code_db;
($ret, $stdout, $stderr) = agent('DROP DATABASE reports', undef, 'postgres');
isnt($ret, 0, 'the agent\'s DROP DATABASE is refused');
$code_db = code_of($stderr);
approved($code_db, undef, $node->connstr('postgres'));
($ret, $stdout, $stderr) = agent('DROP DATABASE reports', undef, 'postgres');
is($ret, 0, 'approved in postgres, it runs') or diag($stderr);
my ($db_entry, $db_kept_as) = split /\|/,
  dba(q{SELECT id, quarantined_as FROM agentguard.quarantine WHERE kind = 'database'});
ok($db_entry < 0, 'a database entry has a negative id');
is(dba(q{SELECT id FROM agentguard.quarantine WHERE kind = 'database'}, 'billing'), $db_entry,
	'and is listed in every database with the extension');
like($db_kept_as, qr/^agentguard_q\d+_reports$/, 'the database is renamed');
is(dba("SELECT datallowconn FROM pg_database WHERE datname = '$db_kept_as'"), 'f', 'and closed');
is(dba("SELECT agentguard.restore($db_entry)"), 'restored database reports', 'restore');
is(dba('SELECT count(*) FROM monthly', 'reports'), '12', 'brings it back, open');

# ---- 4. Purging the quarantine ----

dba(q{ALTER SYSTEM SET agentguard.retention = '30 days'}, 'postgres');
dba('SELECT pg_reload_conf()', 'postgres');
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.retention') = '30 days'})
  or die 'the retention was not reloaded';
approved(refused('DROP TABLE old_report'));
runs('DROP TABLE old_report');
$entry = dba(q{SELECT id FROM agentguard.quarantine WHERE original_name = 'old_report'});
is(dba("SELECT expires_at - dropped_at FROM agentguard.quarantine WHERE id = $entry"), '30 days',
	'4 a new retention applies to the next drops');
like(dba(q{SELECT pg_size_pretty(coalesce(sum(pg_total_relation_size(c.oid)), 0))
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname LIKE 'agentguard\_q%' AND c.relkind IN ('r', 'm')}),
	qr/^[1-9]\d* (bytes|kB|MB)$/, 'the quarantine\'s disk space');
is(dba(q{SELECT datname, pg_size_pretty(pg_database_size(oid)) FROM pg_database
   WHERE datname LIKE 'agentguard\_q%'}), '', 'and of its databases (none now)');

$quarantined_as = dba("SELECT quarantined_as FROM agentguard.quarantine WHERE id = $entry");
dba("SELECT agentguard.purge($entry)");
is(dba("SELECT count(*) FROM agentguard.quarantine WHERE id = $entry"), '0', 'purge removes the entry');
is(dba("SELECT to_regclass('$quarantined_as')"), '', 'and destroys the table');

($ret, $stdout, $stderr) = agent('SELECT agentguard.purge(1)');
like($stderr, qr/permission denied for function purge/, 'an agent may not purge');

# a database entry is purged like any other, though not inside a transaction
# block, as DROP DATABASE cannot be
($ret, $stdout, $stderr) = agent('DROP DATABASE reports', undef, 'postgres');
approved(code_of($stderr), undef, $node->connstr('postgres'));
($ret, $stdout, $stderr) = agent('DROP DATABASE reports', undef, 'postgres');
is($ret, 0, 'the database is dropped again') or diag($stderr);
($db_entry, $db_kept_as) = split /\|/,
  dba(q{SELECT id, quarantined_as FROM agentguard.quarantine WHERE kind = 'database'});
like(dba_fails("BEGIN; SELECT agentguard.purge($db_entry); COMMIT;"),
	qr/ERROR:  agentguard: a quarantined database cannot be purged inside a transaction block\n.*\nHINT:  Run SELECT agentguard.purge\($db_entry\) on its own/,
	'purge of a database entry inside a transaction block says to run it on its own');
is(dba(q{SELECT count(*) FROM pg_database WHERE datname LIKE 'agentguard\_q%'}), '1', 'and leaves it');
dba("SELECT agentguard.purge($db_entry)");
is(dba(q{SELECT count(*) FROM agentguard.quarantine WHERE kind = 'database'}), '0', 'purged, it is gone');
is(dba(q{SELECT count(*) FROM pg_database WHERE datname LIKE 'agentguard\_q%'}), '0', 'for good');
like(dba_fails("SELECT agentguard.purge($db_entry)"), qr/there is no quarantine entry $db_entry/,
	'and a second purge finds nothing');
dba('GRANT EXECUTE ON FUNCTION agentguard.purge(bigint) TO coding_agent');
approved(refused('DROP TABLE notes_b'));
runs('DROP TABLE notes_b');
$entry = dba(q{SELECT id FROM agentguard.quarantine WHERE original_name = 'notes_b'});
($ret, $stdout, $stderr) = agent("SELECT agentguard.purge($entry)");
like($stderr, qr/ERROR:  agentguard: refused to purge /, 'and even with EXECUTE it needs a confirmation');
ok(defined code_of($stderr), 'which has a request code');
dba('REVOKE EXECUTE ON FUNCTION agentguard.purge(bigint) FROM coding_agent');

# entries past their expires_at, a table and a database, from a DBA session
# that quarantines its own drops
dba(q{SET agentguard.quarantine_drops = 'all';
	SET agentguard.retention = '1 second';
	CREATE TABLE short_lived (i int);
	DROP TABLE short_lived;});
dba('CREATE DATABASE short_lived_db', 'postgres');
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	($ret, $stdout, $stderr) = command('', $psql, '-X', '-d', 'rentals',
		'-c', q{SET agentguard.quarantine_drops = 'all'}, '-c', q{SET agentguard.retention = '1 second'},
		'-c', 'DROP DATABASE short_lived_db');
	is($ret, 0, 'a database quarantined for a second') or diag($stderr);
	is(dba(q{SELECT count(*) FROM agentguard.quarantine WHERE kind = 'database'}), '1', 'is listed');
	sleep 2;
	($ret, $stdout, $stderr) = command('', $psql, '-X', '-d', 'rentals', '-c', 'SELECT agentguard.purge_expired()');
}
is($ret, 0, 'purge_expired from psql, as a cron job would run it') or diag($stderr);
like($stdout, qr/^ +2$/m, 'purges the two expired entries');
is(dba(q{SELECT count(*) FROM agentguard.quarantine WHERE original_name IN ('short_lived', 'short_lived_db')}), '0',
	'which are gone');
is(dba(q{SELECT count(*) FROM pg_database WHERE datname LIKE 'agentguard\_q%'}), '0', 'the database for good');
like(slurp_file($node->logfile), qr/LOG:  agentguard: purged role=\S+ database=rentals /, 'purges are logged');
is(dba(q{SELECT count(*) FROM agentguard.audit WHERE event = 'purge'}), '4', 'and audited');

# ---- 5. Rotating a signer key ----

my $loop = <<'SH';
for db in $(psql -XAt -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"); do
  if [ "$(psql -XAt -d "$db" -c "SELECT count(*) FROM pg_extension WHERE extname = 'agentguard'")" = 1 ]; then
    psql -X -d "$db" -v ON_ERROR_STOP=1 -c "$SQL"
  fi
done
SH

# runs the runbook's loop with $SQL set to SQL; returns its exit status
sub every_database
{
	my ($sql) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PATH} = "$bindir:$ENV{PATH}";
	local $ENV{SQL} = $sql;
	my ($ret, $stdout, $stderr) = command('', 'bash', '-e', '-c', $loop);
	is($stderr, '', 'the loop ran without errors');
	return $ret;
}

# a waiting confirmation and a token not yet confirmed, both of the old key
my $code_waiting = refused('DROP TABLE scratch_notes');
($ret, $token) = command('', $agentguard, 'sign', '--key', $key, $code_waiting);
chomp $token;
dba("SELECT agentguard.confirm('$token')");
my $code_later = refused('TRUNCATE notes_a');
my $old_token;
($ret, $old_token) = command('', $agentguard, 'sign', '--key', $key, $code_later);
chomp $old_token;

# 5.1 and 5.2: the new key, trusted everywhere
($ret, $stdout, $stderr) = command('', $agentguard, 'keygen', '--out', $new_key);
is($ret, 0, '5.1 a new key');
chomp(my $new_public_key = $stdout);
is(every_database("SELECT agentguard.add_signer('alice-2027', '$new_public_key')"), 0,
	'5.2 the loop adds the new signer');
for my $db (qw(rentals billing))
{
	is(dba(q{SELECT string_agg(name, ' ' ORDER BY name) FROM agentguard.signers WHERE removed_at IS NULL}, $db),
		'alice alice-2027', "in $db");
}
($ret, $stdout) = command('', $agentguard, 'keygen', '--out', "$keydir/spare.pem");
chomp(my $spare_public_key = $stdout);
like(dba_fails(qq{SELECT agentguard.add_signer('alice', '$spare_public_key')}),
	qr/a signer named "alice" already exists/, 'a name in use cannot get a second key');
like(dba_fails(qq{SELECT agentguard.add_signer('bob', '$new_public_key')}),
	qr/this public key already belongs to signer "alice-2027"/, 'and a key cannot belong to two names');

# 5.4 the old key removed everywhere
is(every_database(q{SELECT agentguard.remove_signer('alice')}), 0, '5.4 the loop removes the old signer');
is(dba(q{SELECT string_agg(name || ':' || (removed_at IS NOT NULL), ' ' ORDER BY added_at) FROM agentguard.signers}, 'billing'),
	'alice:true alice-2027:false', 'in billing too');
($ret, $stdout, $stderr) = agent('DROP TABLE scratch_notes');
isnt($ret, 0, 'a confirmation of the old key that was waiting is refused');
like($stderr, qr/^The confirmation for this statement is no longer valid \(removed signer\): Signer "alice" was removed at /m,
	'and the agent is told why');
like(dba_fails("SELECT agentguard.confirm('$old_token')"), qr/ERROR:  agentguard: token refused: removed signer/,
	'a token of the old key cannot be confirmed');

# 5.3 approving with the new key
($ret, $stdout, $stderr) = command("y\n", $agentguard, 'approve', '--key', $new_key, $rentals, $code_later);
is($ret, 0, '5.3 the new key approves');
runs('TRUNCATE notes_a');
approved($code_waiting, $new_key);
runs('DROP TABLE scratch_notes', 'a request of the old key, approved again with the new one, runs');

# revoking: what the key approved
is(dba(q{SELECT count(*) FILTER (WHERE used_at IS NOT NULL) > 0, count(*) FILTER (WHERE used_at IS NULL) > 0
   FROM (SELECT confirmed_at, confirmed_by, role, action, objects, used_at
         FROM agentguard.confirmations WHERE signer = 'alice' ORDER BY confirmed_at DESC) c}),
	't|t', 'the confirmations of the removed key: used and never used');
like(slurp_file($node->logfile), qr/LOG:  agentguard: confirmed role=coding_agent database=rentals .* signer=alice /,
	'the log has its confirmations');
like(dba_fails(qq{SELECT agentguard.add_signer('mallory', '$public_key')}),
	qr/this public key already belongs to signer "alice"/, 'a removed key cannot come back under another name');
dba(qq{SELECT agentguard.add_signer('alice', '$public_key')});
is(dba(q{SELECT count(*) FROM agentguard.signers WHERE name = 'alice' AND removed_at IS NULL}), '1',
	'but under its old name it can, as the runbook warns');
dba(q{SELECT agentguard.remove_signer('alice')});

# ---- 6. An agent was refused in the middle of a migration ----

my $migration = "$keydir/migration.sql";
PostgreSQL::Test::Utils::append_to_file($migration, <<'SQL');
BEGIN;
CREATE TABLE orders_v2 (id int PRIMARY KEY, customer text);
CREATE TABLE orders_import (id int, customer text);
INSERT INTO orders_import SELECT id, customer FROM old_orders;
INSERT INTO orders_v2 SELECT id, customer FROM orders_import;
DROP TABLE orders_import;
CREATE TEMP TABLE seen (id int);
DROP TABLE seen;
DROP TABLE IF EXISTS never_existed;
DROP TABLE old_orders;
ALTER TABLE customers DROP COLUMN legacy_code;
COMMIT;
SQL

sub migrate
{
	return command('', $psql, '-X', '-v', 'ON_ERROR_STOP=1', '-d', "$rentals user=coding_agent",
		'-f', $migration);
}

($ret, $stdout, $stderr) = migrate();
isnt($ret, 0, '6 the migration is refused');
like($stderr, qr/ERROR:  agentguard: refused to drop table public\.old_orders/, 'at DROP TABLE old_orders');
unlike($stderr, qr/ERROR:[^\n]*(orders_import|seen|never_existed)/,
	'not at the objects it made itself, a temporary table, or IF EXISTS');
is(dba(q{SELECT to_regclass('orders_v2') IS NULL, (SELECT count(*) FROM old_orders)}), 't|40',
	'the whole transaction rolled back, and nothing was changed');

# A: approve the exact statement, run the migration again
my $requests = dba(q{SELECT code, statement FROM agentguard.requests WHERE role = 'coding_agent'});
my ($first) = split /\n/, $requests;
my ($code_drop, $statement) = split /\|/, $first;
is($statement, 'DROP TABLE old_orders', '6.A.1 the newest request of the agent is the refused step');
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	($ret, $stdout, $stderr) = command("y\n", $agentguard, 'approve', '--key', $new_key, 'dbname=rentals', $code_drop);
}
is($ret, 0, '6.A.2 approved by its code') or diag($stderr);
($ret, $stdout, $stderr) = migrate();
isnt($ret, 0, '6.A.3 the migration run again stops at its next destructive step');
like($stderr, qr/ERROR:  agentguard: refused to drop column public\.customers\.legacy_code/, 'the DROP COLUMN');
is(dba(q{SELECT to_regclass('orders_v2') IS NULL, (SELECT count(*) FROM old_orders)}), 't|40',
	'and rolled back again, the approved DROP with it');
approved(code_of($stderr), $new_key);
($ret, $stdout, $stderr) = migrate();
is($ret, 0, 'with both approved, the migration runs through') or diag($stderr);
like($stdout, qr/COMMIT$/, 'and commits');
is(dba(q{SELECT count(*) FROM orders_v2}), '40', 'its new table is there');
is(dba(q{SELECT count(*) FROM agentguard.quarantine WHERE original_name = 'old_orders'}), '1',
	'the dropped table is in quarantine');
is(dba(q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'legacy_code'}), '0',
	'and the column is gone');

# B: the DBA runs the step, and the migration goes on after it
my $steps = "$keydir/steps.sql";
PostgreSQL::Test::Utils::append_to_file($steps, <<'SQL');
CREATE TABLE staging_copy AS SELECT * FROM staging;
TRUNCATE staging;
INSERT INTO staging VALUES (1000);
SQL
($ret, $stdout, $stderr) = command('', $psql, '-X', '-v', 'ON_ERROR_STOP=1', '-d', "$rentals user=coding_agent",
	'-f', $steps);
isnt($ret, 0, '6.B a migration of single statements is refused at TRUNCATE');
is(dba(q{SELECT (SELECT count(*) FROM staging_copy), (SELECT count(*) FROM staging)}), '25|25',
	'the step before it stayed, nothing after it ran');
dba('TRUNCATE staging');
runs('INSERT INTO staging VALUES (1000)', 'the DBA ran the step; the migration goes on after it');
is(dba(q{SELECT string_agg(id::text, ',') FROM staging}), '1000', 'and all of it is done');

# ---- 7. Moving from observe to enforce ----

dba(q{ALTER SYSTEM SET agentguard.mode = 'observe'}, 'postgres');
dba('SELECT pg_reload_conf()', 'postgres');
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.mode') = 'observe'})
  or die 'observe mode was not reloaded';
my $log_offset = -s $node->logfile;
($ret, $stdout, $stderr) = agent('DELETE FROM events');
is($ret, 0, '7.1 in observe mode an agent\'s unbounded DELETE runs');
like($stderr, qr/WARNING:  agentguard: would refuse to delete from public\.events: it has no WHERE clause; it changes 20 rows \(observe mode\)\nDETAIL:  request: agr1\./,
	'with a warning and its request code');
is(dba('SELECT count(*) FROM events'), '0', 'it did delete');
($ret, $stdout, $stderr) = agent(q{SET agentguard.mode = 'off'});
like($stderr, qr/ERROR:  agentguard: agent sessions cannot change agentguard settings/,
	'7.2 agents still cannot change settings in observe mode');

my ($observed) = slurp_file($node->logfile, $log_offset) =~
  /LOG:  agentguard: observed role=coding_agent database=rentals action="DELETE" objects="public\.events" request=(agr1\.[A-Za-z0-9_-]+)/;
ok(defined $observed, '7.3 the log has the observed line with its request code');
($ret, $stdout) = command('', $agentguard, 'inspect', $observed);
like($stdout, qr/^statement: +DELETE FROM events$/m, 'inspect shows its statement');
is(dba(q{SELECT count(*) FROM agentguard.requests WHERE statement = 'DELETE FROM events'}), '0',
	'observed statements are not kept in agentguard.requests');

runs('DROP TABLE events', '7.4 an agent\'s DROP TABLE runs in observe mode');
is(dba(q{SELECT count(*) FROM agentguard.quarantine WHERE original_name = 'events'}), '1', 'and is quarantined');
dba(q{INSERT INTO notes_a VALUES ('a')});
runs('TRUNCATE notes_a', 'an agent\'s TRUNCATE runs too');

is(dba(q{SELECT coalesce(r.rolname, '(all roles)') AS role, coalesce(d.datname, '(all databases)') AS database, s.setconfig
   FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
   WHERE array_to_string(s.setconfig, ',') LIKE '%agentguard.mode%'}), '', '7.6 no per-role or per-database modes left');
dba(q{ALTER ROLE review_bot SET agentguard.mode = 'observe'});
is(dba(q{SELECT coalesce(r.rolname, '(all roles)') AS role, coalesce(d.datname, '(all databases)') AS database, s.setconfig
   FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
   WHERE array_to_string(s.setconfig, ',') LIKE '%agentguard.mode%'}), 'review_bot|(all databases)|{agentguard.mode=observe}',
	'the query finds one that is left');
dba(q{ALTER ROLE review_bot RESET agentguard.mode});

# an agent session open across the switch takes the new mode
my $open = $node->background_psql('rentals', on_error_stop => 0, extra_params => [ '-U', 'coding_agent' ]);
# older PostgreSQL::Test::BackgroundPsql (16.2) leaves the newline on
my $show_mode = sub { my $mode = $open->query('SHOW agentguard.mode'); chomp $mode; return $mode; };
is($show_mode->(), 'observe', 'an open agent session is in observe mode');
dba(q{ALTER SYSTEM SET agentguard.mode = 'enforce'}, 'postgres');
dba('SELECT pg_reload_conf()', 'postgres');
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.mode') = 'enforce'})
  or die 'enforce mode was not reloaded';
my $mode = '';
for (1 .. 100)
{
	$mode = $show_mode->();
	last if $mode eq 'enforce';
	usleep(100_000);
}
is($mode, 'enforce', '7.6 after the reload the open session is in enforce mode');
$open->{stderr} = '';
$open->query('DELETE FROM orders');
like($open->{stderr}, qr/ERROR:  agentguard: refused to delete from public\.orders: it has no WHERE clause/,
	'and is refused');
$open->quit;
is(runs('SHOW agentguard.mode'), 'enforce', 'a new agent session sees enforce with SHOW');
refused('DELETE FROM orders');
is(dba('SELECT count(*) FROM orders'), '50', 'nothing was deleted');

$node->stop;
done_testing();
