# Real clients as agents: pg_dump and pg_restore, pgbench's own scripts, a
# psql script.  Protected where they destroy, unaffected where they do not.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $node = guarded_node('clients');
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION agentguard;
	CREATE ROLE bot LOGIN CREATEDB;
	SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
	CREATE DATABASE shop OWNER bot;
	CREATE DATABASE bench OWNER bot;
});
$node->safe_psql('shop', q{
	CREATE EXTENSION agentguard;
	GRANT ALL ON SCHEMA public TO bot;
}, );
my $as_bot = sub { return ($_[0] eq 'postgres' ? $node->connstr('postgres') : $node->connstr($_[0])) . ' user=bot' };
$node->safe_psql('shop', q{
	CREATE TABLE orders(id int PRIMARY KEY, note text);
	INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 300) g;
	CREATE VIEW recent AS SELECT * FROM orders WHERE id > 250;
}, connstr => $as_bot->('shop'));
my $checksum = sub {
	$node->safe_psql($_[0], q{SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o});
};
my $before = $checksum->('shop');

# pg_dump as the agent reads its own schema.  A whole-database dump also
# copies agentguard's audit and confirmations, which only a DBA may read, so
# it is refused by ordinary permissions, as for any table the role cannot read.
my $dump = $node->basedir . '/shop.dump';
my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'pg_dump', '-Fc', '-f', $dump, '-d', $as_bot->('shop') ], '>', \$stdout, '2>', \$stderr);
ok(!$ok, 'a whole-database pg_dump as an agent fails');
like($stderr, qr/permission denied for (sequence|table) (audit|confirmations|signers)|lack SELECT privilege on the sequence/,
	'on agentguard\'s own tables, by ordinary permissions');
$node->command_ok([ 'pg_dump', '-Fc', '-t', 'public.*', '-f', $dump, '-d', $as_bot->('shop') ],
	'pg_dump of its schema as an agent works');

# pg_restore as the agent into a new database works; with --clean into the
# old one it would drop what is there, and is refused
$node->safe_psql('postgres', 'CREATE DATABASE shop_copy OWNER bot');
$node->command_ok([ 'pg_restore', '-d', $as_bot->('shop_copy'), '--no-owner', $dump ],
	'pg_restore as an agent into a new database works');
is($checksum->('shop_copy'), $before, 'and restores every row');
$ok = IPC::Run::run([ 'pg_restore', '--clean', '--single-transaction', '--exit-on-error',
		'-d', $as_bot->('shop'), $dump ], '>', \$stdout, '2>', \$stderr);
ok(!$ok, 'pg_restore --clean as an agent over live data fails');
like($stderr, qr/agentguard: refused to drop/, 'refused by agentguard');
is($checksum->('shop'), $before, 'nothing changed');

# pgbench's own scripts as the agent.  Its initialisation creates the tables
# and then truncates them in a later transaction: they hold no row yet, so
# nothing is lost and it runs.
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', $as_bot->('bench') ],
	'pgbench -i as an agent on a fresh database runs: the tables it truncates are empty');
is($node->safe_psql('bench', 'SELECT count(*) FROM pgbench_accounts'), '100000', 'and loads every row');
$ok = IPC::Run::run([ 'pgbench', '-i', '-q', '-s', '1', $as_bot->('bench') ], '>', \$stdout, '2>', \$stderr);
ok(!$ok, 'pgbench -i again, which drops its tables, is refused');
like($stderr, qr/agentguard: refused to drop table/, 'by agentguard');
is($node->safe_psql('bench', 'SELECT count(*) FROM pgbench_accounts'), '100000', 'the accounts are still there');
$node->command_like([ 'pgbench', '-n', '-t', '50', '-c', '2', '-M', 'prepared', $as_bot->('bench') ],
	qr/number of failed transactions: 0/, 'the TPC-B-like script runs as an agent without errors');
$node->command_like([ 'pgbench', '-n', '-t', '50', '-S', $as_bot->('bench') ],
	qr/number of failed transactions: 0/, 'and so does the select-only one');

# a psql script with ON_ERROR_STOP stops at the refusal
my $script = $node->basedir . '/migrate.sql';
open(my $fh, '>', $script) or die;
print $fh "CREATE TABLE scratch(i int);\nINSERT INTO scratch VALUES (1);\nDROP TABLE orders;\nINSERT INTO scratch VALUES (2);\n";
close $fh;
my $ret = system('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $script, '-d', $as_bot->('shop'));
is($ret >> 8, 3, 'a psql script stops at the refused DROP');
is($node->safe_psql('shop', 'SELECT count(*) FROM scratch'), '1', 'after the statements before it');
is($checksum->('shop'), $before, 'with the table it wanted to drop untouched');

$node->stop;
done_testing();
