# A quarantined TRUNCATE keeps the table's files, by catalog changes alone:
# an immediate shutdown before its commit leaves the table whole and no
# entry; after the commit the kept files survive a crash and come back on
# restore; a streaming standby has them too, and restores them once
# promoted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $node = guarded_node('truncate', undef, allows_streaming => 1);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION agentguard;
	CREATE TABLE orders(id int PRIMARY KEY, gone int, note text, body text);
	INSERT INTO orders SELECT g, g, 'n' || g, repeat(md5(g::text), 200) FROM generate_series(1, 2000) g;
	ALTER TABLE orders DROP COLUMN gone;
	CREATE INDEX orders_note ON orders (note);
	CHECKPOINT;
});
my $checksum_sql = q{SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o};
my $state_sql = q{
	SELECT (SELECT count(*) FROM orders) || ' ' ||
	       (SELECT count(*) FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace AND relkind = 'r') || ' ' ||
	       (SELECT count(*) FROM agentguard.quarantine)
};
my $before = $node->safe_psql('postgres', $checksum_sql);
my $file = $node->safe_psql('postgres', q{SELECT pg_relation_filenode('orders')});
is($node->safe_psql('postgres', $state_sql), '2000 0 0', 'before: the rows, nothing kept');

# an immediate shutdown while the TRUNCATE's transaction is open
is(crash_inside($node, 'TRUNCATE orders'), '1', 'inside it, the entry is made');
is($node->safe_psql('postgres', $state_sql), '2000 0 0', 'after the crash: the table whole, no entry, no kept table');
is($node->safe_psql('postgres', $checksum_sql), $before, 'every row as it was');
is($node->safe_psql('postgres', q{SELECT pg_relation_filenode('orders')}), $file, 'in its own files');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM orders WHERE note = 'n7'}), '1',
	'and its index finds its rows');

# committed, it survives a crash, and restore gives the files back
$node->safe_psql('postgres', q{SET agentguard.quarantine_drops = 'all'; TRUNCATE orders});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $state_sql), '0 1 1', 'after a crash past the commit the rows are kept');
is($node->safe_psql('postgres', q{SELECT pg_relation_filenode(quarantined_as::regclass) FROM agentguard.quarantine}),
	$file, 'in the files the table had');
is($node->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'), 'restored public.orders',
	'restore');
is($node->safe_psql('postgres', $checksum_sql), $before, 'puts every row back');
is($node->safe_psql('postgres', q{SELECT pg_relation_filenode('orders')}), $file, 'by giving the files back');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM orders WHERE note = 'n7'}), '1',
	'and the index finds its rows');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $checksum_sql), $before, 'which survive a crash too');

# a streaming standby receives the kept files; promoted, it restores them
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres', q{SET agentguard.quarantine_drops = 'all'; TRUNCATE orders});
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $state_sql), '0 1 1', 'the standby has the TRUNCATE and its entry');
my $kept = $standby->safe_psql('postgres', 'SELECT quarantined_as FROM agentguard.quarantine');
is($standby->safe_psql('postgres',
		"SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM $kept o"),
	$before, 'and reads the kept rows');
$node->stop;
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'), 'restored public.orders',
	'the promoted standby restores them');
is($standby->safe_psql('postgres', $checksum_sql), $before, 'every row');
is($standby->safe_psql('postgres', q{SELECT pg_relation_filenode('orders')}), $file, 'in the files they were in');
is($standby->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM orders WHERE note = 'n7'}), '1',
	'with a working index');
$standby->stop;
done_testing();
