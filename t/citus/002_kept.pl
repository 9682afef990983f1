# A confirmed DROP of a distributed or reference table on a Citus cluster
# (a coordinator that holds the reference tables' shards, and two workers):
# kept in quarantine with every shard on every node, restored distributed
# with every shard's rows, purged from every node; so is a schema that
# holds one.  A confirmed TRUNCATE of Citus tables keeps every shard's rows
# where they were, restores and purges them.  A table of a distributed
# schema, and a confirmed DROP COLUMN of a Citus table, are refused before
# anything runs.
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

my $keyfile = "${PostgreSQL::Test::Utils::tmp_check}/kept.key";
my $public_key = keygen($keyfile);

my @nodes = citus_cluster($public_key);
my ($coordinator, @workers) = @nodes;

$coordinator->safe_psql('postgres', q{
	CREATE TABLE orders(id int PRIMARY KEY, note text);
	CREATE INDEX orders_note ON orders(note);
	ALTER TABLE orders OWNER TO bot;
	SELECT create_distributed_table('orders', 'id');
	INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 1000) g;
	CREATE TABLE kinds(id int PRIMARY KEY, name text);
	ALTER TABLE kinds OWNER TO bot;
	SELECT create_reference_table('kinds');
	INSERT INTO kinds SELECT g, 'k' || g FROM generate_series(1, 10) g;
	CREATE TABLE notes(id int);
	ALTER TABLE notes OWNER TO bot;
	INSERT INTO notes SELECT generate_series(1, 5);
	CREATE SCHEMA app AUTHORIZATION bot;
	CREATE TABLE app.items(id int PRIMARY KEY, v text);
	ALTER TABLE app.items OWNER TO bot;
	SELECT create_distributed_table('app.items', 'id');
	INSERT INTO app.items SELECT g, 'v' || g FROM generate_series(1, 100) g;
	SET citus.enable_schema_based_sharding = on;
	CREATE SCHEMA tenant1 AUTHORIZATION bot;
	RESET citus.enable_schema_based_sharding;
	CREATE TABLE tenant1.visits(id int PRIMARY KEY);
	ALTER TABLE tenant1.visits OWNER TO bot;
	INSERT INTO tenant1.visits SELECT generate_series(1, 20);
});

# every placement of every shard of TABLE: shard, node, rows and their checksum,
# read by Citus on the node that holds it, for a DBA (not an agent)
sub placements
{
	my ($table) = @_;
	return $coordinator->safe_psql('postgres', qq{
		SELECT string_agg(shardid || '\@' || nodeport || ':' || result, E'\\n' ORDER BY shardid, nodeport)
		FROM run_command_on_placements('$table',
			\$\$SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM %s t\$\$)});
}

# the table's checksum through the coordinator
sub checksum
{
	my ($table) = @_;
	return $coordinator->safe_psql('postgres',
		qq{SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM $table t});
}

# relations on NODE (shards too) whose name contains NAME, by schema
sub relations_on
{
	my ($node, $name) = @_;
	return $node->safe_psql('postgres', qq{
		SET citus.override_table_visibility = off;
		SELECT coalesce(string_agg(DISTINCT n.nspname, ','), '') || ':' || count(*) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname LIKE '%$name%' AND c.relkind = 'r'});
}

sub as_agent
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $ret = $coordinator->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', 'bot' ]);
	return ($ret, $stdout, $stderr);
}

# the agent's statement, refused with a request, then confirmed and run again
sub confirmed
{
	my ($sql) = @_;
	my ($ret, undef, $stderr) = as_agent($sql);
	my $code = request_code($stderr);
	die "no request for $sql: $stderr" unless $code;
	my $token = sign($keyfile, $code);
	return as_agent("SELECT agentguard.confirm('$token'); $sql");
}

my $entries_sql = q{SELECT count(*) FROM agentguard.quarantine};
my $orders_placements = placements('orders');
my $orders = checksum('orders');
my $kinds_placements = placements('kinds');
my $kinds = checksum('kinds');
like($orders_placements, qr/^(\d+\@\d+:\d+:\w+\n){3}\d+\@\d+:\d+:\w+$/, 'orders: four shards');
is((split /:/, $orders)[0], '1000', '... of a thousand rows');
like($kinds_placements, qr/^(\d+\@\d+:10:\w+\n){2}\d+\@\d+:10:\w+$/,
	'kinds: one shard, placed on all three nodes');
my $dist_shards = $coordinator->safe_psql('postgres', 'SELECT count(*) FROM pg_dist_shard');

# ---- a DROP of a distributed table, confirmed, is kept on every node ----
my ($ret, undef, $stderr) = as_agent('DROP TABLE orders');
isnt($ret, 0, "an agent's DROP of a distributed table fails");
ok(request_code($stderr), '... with a request to confirm');
unlike($stderr, qr/while executing command on/, '... from the coordinator: its trial reached no worker');
is(placements('orders'), $orders_placements, '... with every shard whole');
is(relations_on($workers[0], 'orders'), 'public:3', '... a worker keeps its shell table and its two shards');

($ret, undef, $stderr) = confirmed('DROP TABLE orders');
is($ret, 0, 'the confirmed DROP of a distributed table runs') or diag $stderr;
is($coordinator->safe_psql('postgres', q{SELECT to_regclass('public.orders') IS NULL}), 't',
	'... the table is gone');
my ($orders_id, $orders_kept) = split /\|/, $coordinator->safe_psql('postgres',
	q{SELECT id, quarantined_as FROM agentguard.quarantine WHERE original_name = 'orders'});
ok($orders_kept, "... kept as $orders_kept");
is(placements($orders_kept), $orders_placements, '... with every shard and its rows, where they were');
is(checksum($orders_kept), $orders, '... the same rows through the coordinator');
foreach my $i (0, 1)
{
	is(relations_on($workers[$i], 'orders'), 'agentguard_quarantine:3',
		"... worker " . ($i + 1) . " keeps them in quarantine too, none left behind");
}
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM pg_dist_shard'), $dist_shards,
	"... Citus's metadata names every shard still");

# restored by a DBA: distributed again, every shard with its rows
is($coordinator->safe_psql('postgres', "SELECT agentguard.restore($orders_id)"), 'restored public.orders',
	'restore brings it back');
is(checksum('orders'), $orders, '... every row, through the coordinator');
is(placements('orders'), $orders_placements, '... and in every shard');
is($coordinator->safe_psql('postgres',
		q{SELECT citus_table_type || ':' || shard_count FROM citus_tables WHERE table_name = 'orders'::regclass}),
	'distributed:4', '... a distributed table of four shards');
is(relations_on($workers[0], 'orders'), 'public:3', '... its shell and shards back in public on a worker');
is($coordinator->safe_psql('postgres', q{
	INSERT INTO orders VALUES (5000, 'new');
	SELECT count(*) FROM orders WHERE id = 5000;
	DELETE FROM orders WHERE id = 5000}), '1', '... and Citus routes rows to its shards');
is(checksum('orders'), $orders, 'put back');
is($coordinator->safe_psql('postgres', $entries_sql), '0', 'the entry is gone');

# ---- a reference table: its shard on the coordinator too ----
($ret, undef, $stderr) = confirmed('DROP TABLE kinds');
is($ret, 0, 'the confirmed DROP of a reference table runs') or diag $stderr;
my ($kinds_id, $kinds_kept) = split /\|/, $coordinator->safe_psql('postgres',
	q{SELECT id, quarantined_as FROM agentguard.quarantine WHERE original_name = 'kinds'});
is(placements($kinds_kept), $kinds_placements, '... kept with its shard on all three nodes');
is(relations_on($coordinator, 'kinds'), 'agentguard_quarantine:2', '... the coordinator keeps its shard in quarantine');
is($coordinator->safe_psql('postgres', "SELECT agentguard.restore($kinds_id)"), 'restored public.kinds',
	'restore brings it back');
is(checksum('kinds'), $kinds, '... every row');
is(placements('kinds'), $kinds_placements, '... on every node');
is($coordinator->safe_psql('postgres',
		q{SELECT citus_table_type FROM citus_tables WHERE table_name = 'kinds'::regclass}),
	'reference', '... a reference table');

# ---- a schema that holds a distributed table, kept whole on every node ----
my $items_placements = placements('app.items');
my $items = checksum('app.items');
# its owner and who may use it, whether granted or by default
my $schema_sql = q{SELECT nspowner::regrole || ' ' || string_agg(grantee::regrole || ':' || privilege_type, ',' ORDER BY privilege_type)
	FROM pg_namespace, aclexplode(coalesce(nspacl, acldefault('n', nspowner))) WHERE nspname = 'app' GROUP BY nspowner};
my $app_on_worker = $workers[0]->safe_psql('postgres', $schema_sql);
is($app_on_worker, 'bot bot:CREATE,bot:USAGE', 'schema app on a worker: the agent\'s');
($ret, undef, $stderr) = confirmed('DROP SCHEMA app CASCADE');
is($ret, 0, 'the confirmed DROP SCHEMA of a schema with a distributed table runs') or diag $stderr;
my ($app_id, $app_kept) = split /\|/, $coordinator->safe_psql('postgres',
	q{SELECT id, quarantined_as FROM agentguard.quarantine WHERE original_name = 'app'});
is(placements("$app_kept.items"), $items_placements, "... kept as $app_kept, with every shard and its rows");
is(relations_on($workers[0], 'items'), "$app_kept:3", '... renamed on a worker too');
is($workers[0]->safe_psql('postgres', qq{SELECT nspowner::regrole || ' ' || nspacl::text FROM pg_namespace WHERE nspname = '$app_kept'}),
	'postgres {postgres=UC/postgres}', "... closed to the agent on the worker");
is($coordinator->safe_psql('postgres', "SELECT agentguard.restore($app_id)"), 'restored app', 'restore brings it back');
is(checksum('app.items'), $items, '... every row');
is(placements('app.items'), $items_placements, '... in every shard');
is($workers[0]->safe_psql('postgres', $schema_sql), $app_on_worker, "... the schema's owner and grants on the worker");

# ---- a table of a distributed schema would leave it undistributed: refused ----
my $visits = checksum('tenant1.visits');
($ret, undef, $stderr) = confirmed('DROP TABLE tenant1.visits');
isnt($ret, 0, 'a confirmed DROP of a table of a distributed schema fails');
like($stderr, qr/cannot quarantine this DROP: it would drop table tenant1\.visits, of Citus's distributed schema tenant1/,
	'... refused by agentguard, naming the table');
is(checksum('tenant1.visits'), $visits, '... every row still there');
is($coordinator->safe_psql('postgres', q{SELECT citus_table_type FROM citus_tables WHERE table_name = 'tenant1.visits'::regclass}),
	'schema', '... still distributed by its schema');
is($coordinator->safe_psql('postgres', $entries_sql), '0', '... nothing kept');

# ---- agentguard's own changes reach every node, whatever the session set ----
is($coordinator->safe_psql('postgres', q{
	SET citus.enable_ddl_propagation = off;
	SET agentguard.quarantine_drops = 'all';
	DROP TABLE kinds;
	SELECT quarantined_as FROM agentguard.quarantine}) =~ /agentguard_quarantine/ ? 1 : 0, 1,
	"a DBA's DROP of a reference table, with DDL propagation off, is kept (quarantine_drops = 'all')");
($kinds_id, $kinds_kept) = split /\|/, $coordinator->safe_psql('postgres',
	q{SELECT id, quarantined_as FROM agentguard.quarantine WHERE original_name = 'kinds'});
is(placements($kinds_kept), $kinds_placements, '... with its shard moved on every node all the same');
is($coordinator->safe_psql('postgres', "SET citus.enable_ddl_propagation = off; SELECT agentguard.restore($kinds_id)"),
	'restored public.kinds', '... and restored, with propagation off in the session');
is(placements('kinds'), $kinds_placements, '... to every node');
is(checksum('kinds'), $kinds, '... every row');

# ---- a foreign key of a table that stays, on every shard ----
my $fk_sql = q{SELECT string_agg(result, ',' ORDER BY shardid) FROM run_command_on_shards('lines',
	$$SELECT count(*) FROM pg_constraint WHERE conrelid = '%s'::regclass AND contype = 'f'$$)};
$coordinator->safe_psql('postgres', q{
	CREATE TABLE lines(order_id int REFERENCES orders(id), n int, PRIMARY KEY (order_id, n));
	SELECT create_distributed_table('lines', 'order_id', colocate_with => 'orders');
	INSERT INTO lines SELECT g, 1 FROM generate_series(1, 50) g;
	ALTER TABLE lines OWNER TO bot;
});
is($coordinator->safe_psql('postgres', $fk_sql), '1,1,1,1', 'lines refers to orders on every shard');
($ret, undef, $stderr) = confirmed('DROP TABLE orders CASCADE');
is($ret, 0, 'the confirmed DROP ... CASCADE of a table that lines refers to runs') or diag $stderr;
is($coordinator->safe_psql('postgres', $fk_sql), '0,0,0,0', '... the foreign key of lines gone from every shard');
($orders_id) = $coordinator->safe_psql('postgres', q{SELECT id FROM agentguard.quarantine WHERE original_name = 'orders'});
is($coordinator->safe_psql('postgres', "SELECT agentguard.restore($orders_id)"), 'restored public.orders',
	'restore brings it back');
is(placements('orders'), $orders_placements, '... every shard with its rows');
is($coordinator->safe_psql('postgres', $fk_sql), '1,1,1,1', '... and the foreign key on every shard of lines');
my ($fk_ret, undef, $fk_err) = $coordinator->psql('postgres', 'INSERT INTO lines VALUES (5000, 1)');
like($fk_err, qr/violates foreign key constraint/, '... which holds');
$coordinator->safe_psql('postgres', 'DROP TABLE lines');

# ---- purge removes it from every node ----
($ret, undef, $stderr) = confirmed('DROP TABLE orders');
is($ret, 0, 'a confirmed DROP of the distributed table again') or diag $stderr;
($orders_id) = $coordinator->safe_psql('postgres', q{SELECT id FROM agentguard.quarantine WHERE original_name = 'orders'});
$coordinator->safe_psql('postgres', "SELECT agentguard.purge($orders_id)");
is($coordinator->safe_psql('postgres', $entries_sql), '0', 'purged: no entry');
is(relations_on($_, 'orders'), ':0', '... no table or shard of it on ' . $_->name) foreach @nodes;
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM pg_dist_shard'), $dist_shards - 4,
	"... and none in Citus's metadata");

# ---- a confirmed TRUNCATE of Citus tables keeps every shard's rows where they were ----
# a placement list without its shard ids: a twin's shards have ids of their own
sub by_node
{
	my ($placements) = @_;
	$placements =~ s/^\d+\@//mg;
	return $placements;
}
my $notes = checksum('notes');
my $items_now = checksum('app.items');
my $visits_now = checksum('tenant1.visits');
my $items_on_nodes = join ',', map { relations_on($_, 'items') } @nodes;
my $count_sql = q{SELECT (SELECT count(*) FROM kinds) || ',' || (SELECT count(*) FROM notes) || ','
	|| (SELECT count(*) FROM app.items) || ',' || (SELECT count(*) FROM tenant1.visits)};
is($coordinator->safe_psql('postgres', $count_sql), '10,5,100,20', 'before: rows in all four tables');
($ret, undef, $stderr) = as_agent('TRUNCATE kinds, notes, app.items, tenant1.visits');
isnt($ret, 0, "an agent's TRUNCATE of a reference, a local, a distributed and a schema's table fails");
ok(request_code($stderr), '... with a request to confirm');
is($coordinator->safe_psql('postgres', $count_sql), '10,5,100,20', '... every row still there');
($ret, undef, $stderr) = confirmed('TRUNCATE kinds, notes, app.items, tenant1.visits');
is($ret, 0, 'confirmed, it runs') or diag $stderr;
is($coordinator->safe_psql('postgres', $count_sql), '0,0,0,0', '... and empties all four');
like(placements('kinds'), qr/^(\d+\@\d+:0:\w+\n){2}\d+\@\d+:0:\w+$/, '... every placement of the reference table');
like(placements('app.items'), qr/^(\d+\@\d+:0:\w+\n){3}\d+\@\d+:0:\w+$/, '... every shard of the distributed table');
my ($truncate_id) = $coordinator->safe_psql('postgres', q{SELECT id FROM agentguard.quarantine WHERE kind = 'truncate'});
ok($truncate_id, "kept as quarantine entry $truncate_id");
my %kept = map { split /\|/ } split /\n/, $coordinator->safe_psql('postgres', qq{
	SELECT original_name, quarantined_as FROM agentguard.quarantine_objects WHERE id = $truncate_id});
is(join(',', sort keys %kept), 'items,kinds,notes,visits', '... with the rows of all four');
is(by_node(placements($kept{items})), by_node($items_placements),
	"... the distributed table's in shards on the nodes that held them, every row (counts, checksums)");
is($coordinator->safe_psql('postgres', qq{SELECT count(DISTINCT colocation_id) || ':' || string_agg(citus_table_type, ',')
	FROM citus_tables WHERE table_name IN ('app.items'::regclass, '$kept{items}'::regclass)}), '1:distributed,distributed',
	'... colocated with the table');
is(by_node(placements($kept{kinds})), by_node($kinds_placements), "... the reference table's on every node");
is(checksum($kept{notes}), $notes, "... the local table's");
is(checksum($kept{visits}), $visits_now, "... and the schema's table's, on the coordinator");
is($workers[0]->safe_psql('postgres', qq{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'agentguard_quarantine' AND has_table_privilege('bot', c.oid, 'SELECT')}), '0',
	'... none of it readable by the agent on a worker');
is($coordinator->safe_psql('postgres', "SELECT agentguard.restore($truncate_id)"), 'restored public.kinds',
	'restore puts them back');
is(checksum('kinds'), $kinds, '... every row of the reference table');
is(placements('kinds'), $kinds_placements, '... on every node');
is(checksum('app.items'), $items_now, '... of the distributed table');
is(placements('app.items'), $items_placements, '... in every shard');
is(checksum('notes'), $notes, '... of the local table');
is(checksum('tenant1.visits'), $visits_now, "... and of the schema's table");
is($coordinator->safe_psql('postgres', $entries_sql), '0', '... and the entry is gone');
is(join(',', map { relations_on($_, 'items') } @nodes), $items_on_nodes, '... with its twin, on every node');

# purged: from every node
($ret, undef, $stderr) = confirmed('TRUNCATE app.items');
is($ret, 0, 'a confirmed TRUNCATE of the distributed table again') or diag $stderr;
($truncate_id) = $coordinator->safe_psql('postgres', q{SELECT id FROM agentguard.quarantine WHERE kind = 'truncate'});
$coordinator->safe_psql('postgres', "SELECT agentguard.purge($truncate_id)");
is($coordinator->safe_psql('postgres', $entries_sql), '0', 'purged: no entry');
is(join(',', map { relations_on($_, 'items') } @nodes), $items_on_nodes, '... and no shard of its twin on any node');
$coordinator->safe_psql('postgres', q{INSERT INTO app.items SELECT g, 'v' || g FROM generate_series(1, 100) g});
is(placements('app.items'), $items_placements, 'the distributed table filled again as it was');

# a TRUNCATE trigger would run as the extension's owner: refused before anything runs
$coordinator->safe_psql('postgres', q{
	CREATE FUNCTION public.planted() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
	ALTER FUNCTION public.planted() OWNER TO bot;
	CREATE TRIGGER planted BEFORE TRUNCATE ON notes EXECUTE FUNCTION public.planted();
});
($ret, undef, $stderr) = confirmed('TRUNCATE kinds, notes');
isnt($ret, 0, 'a confirmed TRUNCATE of a Citus table with a TRUNCATE trigger on a table it empties fails');
like($stderr, qr/cannot quarantine this TRUNCATE: trigger planted of public\.notes would run/, '... refused by agentguard');
is(placements('kinds'), $kinds_placements, '... every placement of the reference table whole');
is(checksum('notes'), $notes, '... and the other table');
is($coordinator->safe_psql('postgres', $entries_sql), '0', '... nothing kept');
$coordinator->safe_psql('postgres', q{DROP TRIGGER planted ON notes});

# run as agentguard's own change, it reaches only what its trial reached
$coordinator->safe_psql('postgres', q{
	CREATE TABLE notes_child() INHERITS (notes);
	ALTER TABLE notes_child OWNER TO bot;
	INSERT INTO notes_child VALUES (7);
});
my $notes_family = checksum('notes');
($ret, undef, $stderr) = confirmed('TRUNCATE kinds, ONLY notes');
isnt($ret, 0, 'a confirmed TRUNCATE of a Citus table that leaves a child out with ONLY fails');
like($stderr, qr/cannot run this TRUNCATE: public\.notes_child, a child of or referring to a table it empties, is not one it was tried on/,
	'... refused by agentguard');
is(placements('kinds'), $kinds_placements, '... every placement of the reference table whole');
is(checksum('notes'), $notes_family, '... and the other table and its child');
is($coordinator->safe_psql('postgres', $entries_sql), '0', '... nothing kept');
$coordinator->safe_psql('postgres', q{DROP TABLE notes_child});

# not kept, it would run as the agent, and every worker refuses the shards' TRUNCATE
$coordinator->safe_psql('postgres', q{ALTER SYSTEM SET agentguard.quarantine_drops = 'off'; SELECT pg_reload_conf()});
($ret, undef, $stderr) = confirmed('TRUNCATE app.items');
isnt($ret, 0, "with quarantine_drops = 'off', a confirmed TRUNCATE of a distributed table fails");
like($stderr, qr/while executing command on/, '... on a worker');
is(placements('app.items'), $items_placements, '... with every shard whole');
is($coordinator->safe_psql('postgres', $entries_sql), '0', '... nothing kept');
$coordinator->safe_psql('postgres', q{ALTER SYSTEM RESET agentguard.quarantine_drops; SELECT pg_reload_conf()});

# ---- nor a confirmed DROP COLUMN, whose values are in the shards ----
($ret, undef, $stderr) = confirmed('ALTER TABLE app.items DROP COLUMN v');
isnt($ret, 0, 'a confirmed DROP COLUMN of a distributed table fails');
like($stderr, qr/cannot quarantine this ALTER TABLE: app\.items is a Citus table/, '... refused by agentguard');
unlike($stderr, qr/while executing command on/, '... on the coordinator, before any worker');
is(checksum('app.items'), $items_now, '... every value still there');
is(placements('app.items'), $items_placements, '... in every shard');
is($coordinator->safe_psql('postgres', $entries_sql), '0', '... nothing kept');

$_->stop foreach @nodes;
done_testing();
