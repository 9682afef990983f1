# agentguard on a Citus cluster: a coordinator and two workers on this
# machine, each with shared_preload_libraries = 'citus,agentguard', the same
# signer and the same agent roles.  An agent's distributed DELETE or UPDATE
# that reaches every row is refused before any shard changes; Citus's side
# doors and its safety settings are closed to agents; its metadata tables
# are guarded like the catalogs; an agent's DROP of a distributed table
# waits for a confirmation with every shard whole (t/citus/002_kept.pl keeps
# a confirmed one).
#
# Run by make test-citus (scripts/citus.sh), never by make test.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../../test/perl";
use AgentGuardTest;
use AgentGuardCitus;

my $keyfile = "${PostgreSQL::Test::Utils::tmp_check}/dba.key";
my $public_key = keygen($keyfile);

my @nodes = citus_cluster($public_key);
my ($coordinator, @workers) = @nodes;

$coordinator->safe_psql('postgres', q{
	CREATE TABLE orders(id int PRIMARY KEY, note text);
	ALTER TABLE orders OWNER TO bot;
	SELECT create_distributed_table('orders', 'id');
	INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 1000) g;
	CREATE TABLE kinds(id int PRIMARY KEY, name text);
	ALTER TABLE kinds OWNER TO bot;
	SELECT create_reference_table('kinds');
	INSERT INTO kinds SELECT g, 'k' || g FROM generate_series(1, 10) g;
	CREATE TABLE events(account int, n int);
	ALTER TABLE events OWNER TO bot;
	SELECT create_distributed_table('events', 'account');
	INSERT INTO events SELECT 1, g FROM generate_series(1, 150) g;
	INSERT INTO events SELECT a, g FROM generate_series(2, 9) a, generate_series(1, 10) g;
});

# every shard's rows, read on the worker that holds it
sub shards
{
	my $state = '';
	foreach my $worker (@workers)
	{
		my $tables = $worker->safe_psql('postgres', q{
			SET citus.override_table_visibility = off;
			SELECT string_agg(oid::regclass::text, ' ' ORDER BY relname) FROM pg_class
			WHERE relname ~ '^(orders|kinds|events)_[0-9]+$' AND relkind = 'r'});
		foreach my $shard (split / /, $tables)
		{
			$state .= "$shard:" . $worker->safe_psql('postgres',
				qq{SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM $shard t}) . "\n";
		}
	}
	return $state;
}
my $whole = shards();
like($whole, qr/(orders_\d+:\d+:\w+\n.*){4}/s, 'four shards of orders hold the rows');
my $checksum_sql = q{SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o};
my $all_orders = $coordinator->safe_psql('postgres', $checksum_sql);
is((split /:/, $all_orders)[0], '1000', 'a thousand orders');

sub as_agent
{
	my ($role, $sql, %opts) = @_;
	my ($stdout, $stderr);
	my $ret = $coordinator->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', $role ], %opts);
	return ($ret, $stdout, $stderr);
}

# ---- distributed DELETE and UPDATE that reach every row ----
foreach my $case (
	[ 'DELETE FROM orders', 'delete every row of a distributed table' ],
	[ 'DELETE FROM orders WHERE 1 = 1', 'delete every row of a distributed table' ],
	[ q{UPDATE orders SET note = 'gone'}, 'update every row of a distributed table' ],
	[ 'BEGIN; DELETE FROM orders; COMMIT', 'delete every row of a distributed table' ],
	[ 'DELETE FROM kinds', 'delete every row of a distributed table' ])
{
	my ($sql, $refusal) = @$case;
	my ($ret, undef, $stderr) = as_agent('bot', $sql);
	isnt($ret, 0, "an agent's '$sql' fails");
	like($stderr, qr/agent sessions cannot \Q$refusal\E/, '... refused by agentguard');
	is(shards(), $whole, '... with every shard unchanged');
}

# observe mode (on every node) reports it and lets it run
$_->safe_psql('postgres', q{SET citus.enable_ddl_propagation = off; ALTER ROLE bot SET agentguard.mode = 'observe'})
  foreach @nodes;
my ($observed_ret, undef, $observed) = as_agent('bot', q{UPDATE kinds SET name = name});
is($observed_ret, 0, "in observe mode, an agent's UPDATE of every row of a reference table runs");
like($observed, qr/WARNING:  agentguard: agent sessions cannot update every row of a distributed table/,
	'... with the warning');
$_->safe_psql('postgres', q{SET citus.enable_ddl_propagation = off; ALTER ROLE bot RESET agentguard.mode})
  foreach @nodes;
is(shards(), $whole, '... the same values in every shard');

# under quarantine_drops = 'all', a DBA's DELETE of every row would be kept;
# Citus deletes on the workers, where nothing can keep the rows: refused
my ($kept_ret, undef, $kept_err) = $coordinator->psql('postgres',
	q{SET agentguard.quarantine_drops = 'all'; DELETE FROM kinds});
isnt($kept_ret, 0, "under quarantine_drops = 'all', a DBA's DELETE of every row of a reference table fails");
like($kept_err, qr/cannot quarantine the rows of this DELETE: it reaches every row of a distributed table/,
	'... refused: its rows could not be kept');
is(shards(), $whole, '... with every shard unchanged');

# ---- the row limit (agentguard.max_rows = 100 on every node) ----
# on four shards at once, none of them past the limit: Citus's count of them all
my ($ret, $stderr);
($ret, undef, $stderr) = as_agent('bot', 'DELETE FROM orders WHERE id <= 240');
isnt($ret, 0, "an agent's DELETE of 240 rows over four shards fails");
like($stderr, qr/agent sessions cannot change more than agentguard.max_rows \(100\) rows of a distributed table/,
	'... refused by the coordinator for all shards together');
like($stderr, qr/It changed 240 rows/, '... saying how many');
is(shards(), $whole, '... with every shard unchanged');
($ret, undef, $stderr) = as_agent('bot', q{UPDATE events SET n = n + 1000 WHERE n <= 30});
isnt($ret, 0, "an agent's UPDATE of 110 rows over all shards fails");
like($stderr, qr/It changed 110 rows/, '... refused by the coordinator');
is(shards(), $whole, '... with every shard unchanged');
# on one shard, outside a transaction block: the worker's agentguard refuses it before it commits there
foreach my $sql ('DELETE FROM events WHERE account = 1', 'BEGIN; DELETE FROM events WHERE account = 1; COMMIT')
{
	($ret, undef, $stderr) = as_agent('bot', $sql);
	isnt($ret, 0, "an agent's '$sql' of 150 rows on one shard fails");
	like($stderr, qr/more than agentguard.max_rows \(100\)/, '... past the row limit');
	is(shards(), $whole, '... with every shard unchanged');
}
($ret, undef, $stderr) = as_agent('bot', 'DELETE FROM events WHERE n <= 2');
is($ret, 0, "an agent's DELETE of 18 rows over all shards runs") or diag $stderr;
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM events'), '212', '... and deletes them');
$coordinator->safe_psql('postgres', q{
	INSERT INTO events SELECT 1, g FROM generate_series(1, 2) g;
	INSERT INTO events SELECT a, g FROM generate_series(2, 9) a, generate_series(1, 2) g;
});
is(shards(), $whole, 'put back');

# the coordinator's table of a distributed table holds no rows (they are in
# the shards), and is judged as holding them: refused on the coordinator
# with a request of its own, before any worker is reached
($ret, undef, $stderr) = as_agent('bot', 'TRUNCATE orders');
isnt($ret, 0, "an agent's TRUNCATE of a distributed table fails");
like($stderr, qr/agentguard: refused to truncate public\.orders/, '... refused by agentguard');
unlike($stderr, qr/while executing command on/, '... on the coordinator');
is(shards(), $whole, '... with every shard unchanged');
# nor may it move into a scratch schema, where agents empty tables freely
$coordinator->safe_psql('postgres', q{
	CREATE SCHEMA scratch AUTHORIZATION bot;
	SECURITY LABEL FOR agentguard ON SCHEMA scratch IS 'scratch';
});
($ret, undef, $stderr) = as_agent('bot', 'ALTER TABLE orders SET SCHEMA scratch');
isnt($ret, 0, "an agent's move of a distributed table into a scratch schema fails");
like($stderr, qr/it holds rows, and schema scratch is scratch/, '... refused: it holds rows');
is(shards(), $whole, '... with every shard where it was');

# a DELETE that names its rows runs, on the shard that holds them
($ret, undef, $stderr) = as_agent('bot', 'DELETE FROM orders WHERE id = 7');
is($ret, 0, "an agent's DELETE of one named row runs") or diag $stderr;
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM orders'), '999', '... and deletes that row');
$coordinator->safe_psql('postgres', q{INSERT INTO orders VALUES (7, 'n7')});
is($coordinator->safe_psql('postgres', $checksum_sql), $all_orders, 'put back');
$whole = shards();

# ---- side doors ----
# known by their C symbol: an alias under another name is refused too
$coordinator->safe_psql('postgres', q{
	CREATE FUNCTION public.drop_them(regclass, text, text) RETURNS integer
		LANGUAGE C STRICT AS '$libdir/citus', 'master_drop_all_shards';
});
foreach my $call (
	q{SELECT run_command_on_workers('SELECT 1')},
	q{SELECT * FROM master_run_on_worker(ARRAY['localhost'], ARRAY[5432], ARRAY['SELECT 1'], false)},
	q{SELECT run_command_on_shards('orders', 'DELETE FROM %s')},
	q{SELECT citus_drop_all_shards('orders', 'public', 'orders')},
	q{SELECT public.drop_them('orders', 'public', 'orders')},
	q{SELECT truncate_local_data_after_distributing_table('orders')})
{
	my ($ret, undef, $stderr) = as_agent('bot', $call);
	isnt($ret, 0, "an agent's $call fails");
	like($stderr, qr/agent sessions cannot call \w+\(\)/, '... refused by agentguard');
}
is(shards(), $whole, 'every shard unchanged by the side doors');

# a rehearsal, any session's, ends in a rollback that another node's work
# over Citus's own connections would outlive
($ret, undef, $stderr) = $coordinator->psql('postgres',
	q{BEGIN; SET agentguard.rehearse = on; SELECT run_command_on_workers('SELECT 1'); COMMIT;});
like($stderr, qr/a rehearsal cannot call master_run_on_worker\(\)/,
	"a DBA's rehearsal cannot run commands on the workers");
is($coordinator->safe_psql('postgres', $checksum_sql), $all_orders, 'every order too');

# on a worker, the functions Citus's coordinator calls there
($ret, undef, $stderr) = $workers[0]->psql('postgres',
	q{SELECT worker_drop_distributed_table('orders')}, extra_params => [ '-U', 'superbot' ]);
like($stderr, qr/agent sessions cannot call worker_drop_distributed_table\(\)/,
	'an agent on a worker cannot call worker_drop_distributed_table');
($ret, undef, $stderr) = $workers[0]->psql('postgres',
	q{SELECT worker_drop_shell_table('orders')}, extra_params => [ '-U', 'superbot' ]);
like($stderr, qr/agent sessions cannot call worker_drop_shell_table\(\)/,
	'nor worker_drop_shell_table');
is(shards(), $whole, 'every shard unchanged');

# ---- Citus's safety settings ----
foreach my $set (
	q{SET citus.enable_ddl_propagation = off},
	q{SET LOCAL citus.enable_ddl_propagation = off},
	q{SELECT set_config('citus.enable_metadata_sync', 'off', false)},
	q{DO $$BEGIN PERFORM set_config('citus.enable_ddl_propagation', 'off', false); END$$},
	q{DO $$BEGIN SET citus.enable_ddl_propagation TO 'off'; END$$},
	q{SET citus.enable_manual_changes_to_shards = on},
	q{ALTER ROLE bot SET citus.enable_ddl_propagation = off})
{
	my ($ret, undef, $stderr) = as_agent('superbot', "BEGIN; $set; COMMIT;");
	isnt($ret, 0, "an agent's $set fails");
	like($stderr, qr/agent sessions cannot change citus\.enable_/, '... refused by agentguard');
}
($ret, undef, $stderr) = as_agent('bot', 'SELECT 1',
	connstr => $coordinator->connstr('postgres') . " options='-c citus.enable_ddl_propagation=off'");
like($stderr, qr/agent sessions cannot change citus\.enable_ddl_propagation/,
	'nor may an agent connect with it off');
is($coordinator->safe_psql('postgres',
		q{SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'bot'::regrole}), '',
	'no default of the agent role changed');
($ret) = as_agent('bot', q{SET citus.enable_ddl_propagation = on});
is($ret, 0, 'setting it to what it already is stays allowed');
is($coordinator->safe_psql('postgres', q{SET citus.enable_ddl_propagation = off; SHOW citus.enable_ddl_propagation}),
	'off', 'a DBA may still change it');

# ---- Citus's metadata ----
my $metadata_sql = q{SELECT (SELECT count(*) FROM pg_dist_node) || ' ' || (SELECT count(*) FROM pg_dist_shard) || ' ' ||
	(SELECT count(*) FROM pg_dist_partition)};
my $metadata = $coordinator->safe_psql('postgres', $metadata_sql);
foreach my $write (
	q{DELETE FROM pg_dist_node},
	q{DELETE FROM pg_dist_shard WHERE logicalrelid = 'orders'::regclass},
	q{UPDATE pg_dist_partition SET repmodel = 'c'},
	q{INSERT INTO pg_dist_node (nodeid, groupid, nodename, nodeport) VALUES (99, 99, 'elsewhere', 5432)})
{
	my ($ret, undef, $stderr) = as_agent('superbot', $write);
	isnt($ret, 0, "a superuser agent's $write fails");
	like($stderr, qr/agent sessions cannot change Citus's metadata/, '... refused by agentguard');
}
is($coordinator->safe_psql('postgres', $metadata_sql), $metadata, 'the metadata unchanged');

# ---- DROP of a distributed table waits for a confirmation ----
($ret, undef, $stderr) = as_agent('bot', 'DROP TABLE orders');
isnt($ret, 0, "an agent's DROP of a distributed table fails");
ok(request_code($stderr), '... with a request to confirm');
is(shards(), $whole, '... with every shard whole');
is($coordinator->safe_psql('postgres', $checksum_sql), $all_orders, '... and every order');

$_->stop foreach @nodes;
done_testing();
