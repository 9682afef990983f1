# Quarantine across a crash, a dump and a standby: an immediate shutdown in
# the middle of moving a table aside leaves it where it was or wholly in
# quarantine, never half; pg_dump and pg_restore keep quarantined entries
# restorable, and so does a streaming standby once promoted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $node = guarded_node('quarantine', undef, allows_streaming => 1);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION agentguard;
	CREATE TABLE orders(id int PRIMARY KEY, note text);
	INSERT INTO orders SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g;
	CREATE TABLE lines(id int, order_id int REFERENCES orders);
	INSERT INTO lines SELECT g, g FROM generate_series(1, 1000) g;
	CREATE VIEW open_orders AS SELECT * FROM orders WHERE id > 500;
	-- holds the quarantine in the middle of its steps while the test wants it
	CREATE FUNCTION hold() RETURNS event_trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF current_setting('test.hold', true) = 'on' THEN
			PERFORM pg_advisory_lock(4242);
			PERFORM pg_advisory_unlock(4242);
		END IF;
	END $$;
	CREATE EVENT TRIGGER hold ON ddl_command_end EXECUTE FUNCTION hold();
});
my $state_sql = q{
	SELECT (SELECT count(*) FROM pg_class WHERE relname = 'orders' AND relnamespace = 'public'::regnamespace) || ' ' ||
	       (SELECT count(*) FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace AND relkind = 'r') || ' ' ||
	       (SELECT count(*) FROM agentguard.quarantine) || ' ' ||
	       (SELECT count(*) FROM pg_constraint WHERE conname = 'lines_order_id_fkey') || ' ' ||
	       (SELECT count(*) FROM pg_class WHERE relname = 'open_orders')
};
my $checksum_sql = q{SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o};
my $before = $node->safe_psql('postgres', $checksum_sql);
is($node->safe_psql('postgres', $state_sql), '1 0 0 1 1', 'before: the table, its view and foreign key in place');

# crash while the DROP is half way through its moves
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4242)');
my ($in, $out, $err) = ('', '', '');
my $dropper = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
$in .= "SET agentguard.quarantine_drops = 'all'; SET test.hold = 'on'; DROP TABLE orders CASCADE;\n";
$dropper->pump_nb;
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")
  or die 'the DROP never reached its held step';
$node->stop('immediate');
$dropper->kill_kill;
$holder->{run}->kill_kill if $holder->{run};
$node->start;
is($node->safe_psql('postgres', $state_sql), '1 0 0 1 1',
	'after a crash mid-quarantine everything is where it was');
is($node->safe_psql('postgres', $checksum_sql), $before, 'with every row');

# the same DROP, finished and committed, survives a crash whole
$node->safe_psql('postgres', "SET agentguard.quarantine_drops = 'all'; DROP TABLE orders CASCADE;");
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $state_sql), '0 1 1 0 0',
	'after a crash past the commit it is wholly in quarantine');
$node->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine');
is($node->safe_psql('postgres', $state_sql), '1 0 0 1 1', 'and restore brings it all back');
is($node->safe_psql('postgres', $checksum_sql), $before, 'every row');

# pg_dump and pg_restore keep the entry listed and restorable
$node->safe_psql('postgres', "SET agentguard.quarantine_drops = 'all'; DROP TABLE orders CASCADE;");
my $dump = $node->basedir . '/quarantine.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE copy');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('copy'), $dump ], 'pg_restore');
is($node->safe_psql('copy', 'SELECT original_name, kind FROM agentguard.quarantine'), 'orders|table',
	'the restored database lists the quarantined table');
is($node->safe_psql('copy', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'), 'restored public.orders',
	'and it can be restored there');
is($node->safe_psql('copy', $state_sql), '1 0 0 1 1', 'with its view and foreign key');
is($node->safe_psql('copy', $checksum_sql), $before, 'and every row');

# a streaming standby receives the quarantine; promoted, it restores it
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres', 'CREATE TABLE after_backup(i int)');
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $state_sql), '0 1 1 0 0', 'the standby holds the quarantined table');
my ($ret, $stdout, $stderr) = $standby->psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine');
like($stderr, qr/cannot execute agentguard.restore\(\) during recovery/, "restore on a standby in recovery says it cannot run there");
$node->stop;
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'), 'restored public.orders',
	'the promoted standby restores it');
is($standby->safe_psql('postgres', $state_sql), '1 0 0 1 1', 'with its view and foreign key');
is($standby->safe_psql('postgres', $checksum_sql), $before, 'and every row');
$standby->stop;
done_testing();
