# What the Citus TAP tests share: a coordinator and two workers on this
# machine, each with shared_preload_libraries = 'citus,agentguard', the same
# signer and the same agent roles (bot, and the superuser superbot), joined
# into one cluster.
package AgentGuardCitus;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(citus_cluster);

# (coordinator, worker, worker) trusting PUBLIC_KEY, with EXTRA_CONF in each
# postgresql.conf; the nodes know each other by HOST (their socket directory
# unless given)
sub citus_cluster
{
	my ($public_key, %opts) = @_;
	my @nodes;
	foreach my $name (qw(coordinator worker1 worker2))
	{
		my $node = PostgreSQL::Test::Cluster->new($name);
		$node->init;
		$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'citus,agentguard'
max_prepared_transactions = 10
citus.shard_count = 4
citus.shard_replication_factor = 1
agentguard.max_rows = 100
} . ($opts{extra_conf} // ''));
		$node->start;
		$node->safe_psql('postgres', qq{
			CREATE EXTENSION citus;
			CREATE EXTENSION agentguard;
			SELECT agentguard.add_signer('dba', '$public_key');
			SET citus.enable_ddl_propagation = off;
			CREATE ROLE bot LOGIN;
			CREATE ROLE superbot LOGIN SUPERUSER;
			SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
			SECURITY LABEL FOR agentguard ON ROLE superbot IS 'agent';
		});
		push @nodes, $node;
	}
	my ($coordinator, @workers) = @nodes;
	my $citus = $coordinator->safe_psql('postgres', q{SELECT citus_version()});
	note "Citus: $citus";
	diag "ran against $citus";
	my $host = sub { $opts{host} // $_[0]->host };
	$coordinator->safe_psql('postgres', sprintf(q{SELECT citus_set_coordinator_host('%s', %d)},
		$host->($coordinator), $coordinator->port));
	$coordinator->safe_psql('postgres', sprintf(q{SELECT citus_add_node('%s', %d)}, $host->($_), $_->port))
	  foreach @workers;
	is($coordinator->safe_psql('postgres', q{SELECT count(*) FROM citus_get_active_worker_nodes()}),
		'2', 'two workers in the cluster');
	return @nodes;
}

1;
