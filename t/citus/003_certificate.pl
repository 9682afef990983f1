# Citus's own connections between nodes known by a client certificate
# (agentguard.citus_node_certificate), not by the application name any
# client can choose: an agent that connects to a worker under Citus's name
# gets nothing that Citus's connections get, while the agent's DDL that
# Citus carries to the workers over its certificate still runs.
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

my $dir = PostgreSQL::Test::Utils::tempdir;
my $public_key = keygen("$dir/dba.key");

# a certificate authority, the servers' certificate, Citus's client
# certificate and another client certificate from the same authority
sub openssl
{
	my @args = @_;
	my ($out, $err);
	IPC::Run::run([ 'openssl', @args ], '>', \$out, '2>', \$err)
	  or die "openssl @args: $err";
}
openssl(qw(req -new -x509 -nodes -days 2 -subj /CN=test-ca -keyout), "$dir/ca.key", '-out', "$dir/ca.crt");
foreach my $cn (qw(localhost citus-node someone))
{
	openssl(qw(req -new -nodes -subj), "/CN=$cn", '-keyout', "$dir/$cn.key", '-out', "$dir/$cn.csr");
	openssl(qw(x509 -req -days 2 -CAcreateserial), '-in', "$dir/$cn.csr", '-CA', "$dir/ca.crt",
		'-CAkey', "$dir/ca.key", '-out', "$dir/$cn.crt");
	chmod 0600, "$dir/$cn.key";
}

my @nodes = citus_cluster($public_key, host => '127.0.0.1', extra_conf => qq{
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = '$dir/localhost.crt'
ssl_key_file = '$dir/localhost.key'
ssl_ca_file = '$dir/ca.crt'
citus.node_conninfo = 'sslmode=require sslcert=$dir/citus-node.crt sslkey=$dir/citus-node.key'
agentguard.citus_node_certificate = 'citus-node'
});
my ($coordinator, @workers) = @nodes;
my $worker = $workers[0];

$coordinator->safe_psql('postgres', q{
	CREATE TABLE orders(id int PRIMARY KEY, note text);
	ALTER TABLE orders OWNER TO bot;
	SELECT create_distributed_table('orders', 'id');
	INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 1000) g;
});

# the agent's DDL reaches every shard over Citus's connections, whose
# settings changes and worker calls are Citus's
my ($ret, $stdout, $stderr) = $coordinator->psql('postgres',
	q{ALTER TABLE orders ADD COLUMN due date}, extra_params => [ '-U', 'bot' ]);
is($ret, 0, "an agent's ALTER TABLE of a distributed table reaches the workers over Citus's certificate")
  or diag $stderr;
my $shard_columns = q{
	SET citus.override_table_visibility = off;
	SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	WHERE c.relname ~ '^orders_[0-9]+$' AND c.relkind = 'r' AND a.attname = 'due'};
is($worker->safe_psql('postgres', $shard_columns) + $workers[1]->safe_psql('postgres', $shard_columns),
	4, '... and every shard has the new column');

# an agent on a worker under Citus's application name, over TCP
sub as_agent_on_worker
{
	my ($conn, $sql) = @_;
	my ($ret, $stdout, $stderr) = $worker->psql('postgres', $sql,
		connstr => sprintf(q{host=127.0.0.1 port=%d dbname=postgres user=superbot application_name='citus_internal gpid=10000000042' %s},
			$worker->port, $conn));
	return ($ret, $stderr);
}
my $shards_sql = q{SET citus.override_table_visibility = off;
	SELECT count(*) FROM pg_class WHERE relname ~ '^orders_[0-9]+$' AND relkind = 'r'};
my $shards = $worker->safe_psql('postgres', $shards_sql);
my $metadata_sql = q{SELECT count(*) FROM pg_dist_shard};
my $metadata = $worker->safe_psql('postgres', $metadata_sql);
foreach my $case (
	[ 'sslmode=disable', 'without a certificate' ],
	[ "sslmode=require sslcert=$dir/someone.crt sslkey=$dir/someone.key", 'with another certificate of the same authority' ])
{
	my ($conn, $how) = @$case;
	my ($ret, $stderr) = as_agent_on_worker($conn, q{SET citus.enable_manual_changes_to_shards = on});
	like($stderr, qr/agent sessions cannot change citus\.enable_manual_changes_to_shards/,
		"an agent under Citus's application name $how cannot change Citus's settings");
	($ret, $stderr) = as_agent_on_worker($conn, q{SELECT worker_drop_shell_table('orders')});
	like($stderr, qr/agent sessions cannot call worker_drop_shell_table\(\)/, '... nor call its worker functions');
	($ret, $stderr) = as_agent_on_worker($conn, q{DELETE FROM pg_dist_shard});
	like($stderr, qr/agent sessions cannot change Citus's metadata/, '... nor write its metadata');
}
is($worker->safe_psql('postgres', $shards_sql), $shards, 'every shard still on the worker');
is($worker->safe_psql('postgres', $metadata_sql), $metadata, '... and its metadata unchanged');

# with Citus's certificate, the same connection is Citus's
($ret, $stderr) = as_agent_on_worker("sslmode=require sslcert=$dir/citus-node.crt sslkey=$dir/citus-node.key",
	q{SET citus.enable_manual_changes_to_shards = on});
is($ret, 0, "with Citus's certificate, the connection is Citus's") or diag $stderr;

# without the setting, the application name alone is trusted: the limit
# docs/scaling.md states
$worker->append_conf('postgresql.conf', q{agentguard.citus_node_certificate = ''});
$worker->reload;
($ret, $stderr) = as_agent_on_worker('sslmode=disable', q{SET citus.enable_manual_changes_to_shards = on});
is($ret, 0, 'without agentguard.citus_node_certificate, the application name alone is trusted') or diag $stderr;

$_->stop foreach @nodes;
done_testing();
