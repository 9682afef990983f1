# The rows a kept DELETE or UPDATE changed are written straight into their
# table's file, outside shared buffers, and WAL-logged whole: an immediate
# shutdown before the commit leaves the rows in place and nothing kept; after
# the commit the kept rows survive a crash and go back on restore; a
# streaming standby has them from WAL alone, and restores them once
# promoted; under wal_level minimal the commit makes them safe instead.
# The rows span many pages, with values stored out of line (TOAST), in a
# table with a dropped column (rows made again) and one without (rows kept
# as they were).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $setup_sql = q{
	CREATE EXTENSION agentguard;
	CREATE TABLE orders(id int PRIMARY KEY, gone int, note text, body text);
	CREATE TABLE lines(id int PRIMARY KEY, order_id int REFERENCES orders ON DELETE CASCADE, body text);
	-- every tenth body is too big to stay in its row, and does not compress
	INSERT INTO orders SELECT g, g, 'n' || g,
		CASE WHEN g % 10 = 0 THEN (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 300) i)
		ELSE md5(g::text) END
		FROM generate_series(1, 3000) g;
	INSERT INTO lines SELECT g, (g % 3000) + 1,
		CASE WHEN g % 7 = 0 THEN (SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 300) i)
		ELSE md5(g::text) END
		FROM generate_series(1, 6000) g;
	ALTER TABLE orders DROP COLUMN gone;
	CHECKPOINT;
};
my $checksum_sql = q{
	SELECT (SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o) || ' ' ||
	       (SELECT count(*) || ':' || md5(string_agg(l::text, ',' ORDER BY id)) FROM lines l)
};
my $state_sql = q{
	SELECT (SELECT count(*) FROM orders) || ' ' || (SELECT count(*) FROM lines) || ' ' ||
	       (SELECT count(*) FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace AND relkind = 'r') || ' ' ||
	       (SELECT count(*) FROM agentguard.quarantine)
};
# the kept rows, as their tables had them (the last columns are restore's)
my $kept_sql = q{
	SELECT (SELECT count(*) || ':' || md5(string_agg(ROW(k.id, k.note, k.body)::text, ',' ORDER BY k.id))
	        FROM agentguard_quarantine.%s k) || ' ' ||
	       (SELECT count(*) || ':' || md5(string_agg(ROW(k.id, k.order_id, k.body)::text, ',' ORDER BY k.id))
	        FROM agentguard_quarantine.%s k)
};
my $kept_names_sql = q{
	SELECT string_agg(c.relname, ' ' ORDER BY c.relname LIKE '%orders' DESC)
	FROM pg_class c WHERE c.relnamespace = 'agentguard_quarantine'::regnamespace AND c.relkind = 'r'
};

sub kept_rows
{
	my ($node) = @_;
	my @names = split / /, $node->safe_psql('postgres', $kept_names_sql);
	return $node->safe_psql('postgres', sprintf($kept_sql, @names));
}

my $node = guarded_node('rows', undef, allows_streaming => 1);
$node->start;
$node->safe_psql('postgres', $setup_sql);
my $before = $node->safe_psql('postgres', $checksum_sql);
is($node->safe_psql('postgres', $state_sql), '3000 6000 0 0', 'before: the rows, nothing kept');

# an immediate shutdown while the DELETE's transaction is open
is(crash_inside($node, 'DELETE FROM orders'), '1', 'inside it, the entry is made');
is($node->safe_psql('postgres', $state_sql), '3000 6000 0 0', 'after the crash: every row there, no entry, no kept table');
is($node->safe_psql('postgres', $checksum_sql), $before, 'every row as it was');

# committed, the kept rows survive a crash, and restore puts them back
$node->safe_psql('postgres', q{SET agentguard.quarantine_drops = 'all'; DELETE FROM orders});
is($node->safe_psql('postgres', $state_sql), '0 0 2 1', 'the DELETE and its cascade keep both tables');
# the deleted rows' out-of-line values leave their tables' TOAST
$node->safe_psql('postgres', 'VACUUM orders; VACUUM lines');
is(kept_rows($node), $before, 'the kept rows are the rows deleted, with their own copies of big values');
$node->stop('immediate');
$node->start;
is(kept_rows($node), $before, 'after a crash past the commit, every kept row is there');
is($node->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'),
	'restored public.orders (9000 rows went back)', 'restore');
is($node->safe_psql('postgres', $checksum_sql), $before, 'puts every row back');

# a kept UPDATE, restored after a crash: the old values come back
$node->safe_psql('postgres', q{SET agentguard.quarantine_drops = 'all'; UPDATE lines SET body = 'x' || id});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'),
	'restored public.lines (6000 rows went back)', 'a kept UPDATE survives a crash and is restored');
is($node->safe_psql('postgres', $checksum_sql), $before, 'every old value back');

# a streaming standby receives the kept rows from WAL; promoted, it restores them
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres', q{SET agentguard.quarantine_drops = 'all'; DELETE FROM orders});
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $state_sql), '0 0 2 1', 'the standby has the DELETE and its entry');
is(kept_rows($standby), $before, 'and reads every kept row');
$node->stop;
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'),
	'restored public.orders (9000 rows went back)', 'the promoted standby restores them');
is($standby->safe_psql('postgres', $checksum_sql), $before, 'every row');
$standby->stop;

# wal_level minimal: the new kept table skips WAL, and its commit syncs it
my $minimal = guarded_node('minimal', "wal_level = minimal\nmax_wal_senders = 0\n");
$minimal->start;
$minimal->safe_psql('postgres', $setup_sql);
$minimal->safe_psql('postgres', q{SET agentguard.quarantine_drops = 'all'; DELETE FROM orders});
$minimal->stop('immediate');
$minimal->start;
is(kept_rows($minimal), $before, 'under wal_level minimal the kept rows survive a crash past the commit');
is($minimal->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'),
	'restored public.orders (9000 rows went back)', 'and go back');
is($minimal->safe_psql('postgres', $checksum_sql), $before, 'every row');
$minimal->stop;
done_testing();
