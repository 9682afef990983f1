# What the TAP tests share: the installed agentguard program, signing keys,
# a server started with agentguard preloaded, and the agent role "bot" that
# owns tables of 100 rows.
package AgentGuardTest;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw($agentguard keygen sign request_code guarded_node bot_setup_sql crash_inside);

$ENV{PG_CONFIG} //= 'pg_config';
my $bindir = `$ENV{PG_CONFIG} --bindir`;
chomp $bindir;
our $agentguard = "$bindir/agentguard";

# a new signing key in KEYFILE; returns its public key
sub keygen
{
	my ($keyfile) = @_;
	my ($out, $err);
	IPC::Run::run([ $agentguard, 'keygen', '--out', $keyfile ], '>', \$out, '2>', \$err)
	  or die "keygen failed: $err";
	chomp $out;
	return $out;
}

sub sign
{
	my ($keyfile, $code, $ttl) = @_;
	my ($token, $stderr);
	IPC::Run::run([ $agentguard, 'sign', '--key', $keyfile, '--ttl', $ttl // '10m', $code ],
		'>', \$token, '2>', \$stderr)
	  or die "sign failed: $stderr";
	chomp $token;
	return $token;
}

# the request code in a refusal's error text
sub request_code
{
	my ($stderr) = @_;
	my ($code) = $stderr =~ /request: (agr1\.[A-Za-z0-9_-]+)/;
	return $code;
}

# a server that preloads agentguard, with more settings in EXTRA_CONF;
# INIT goes to init()
sub guarded_node
{
	my ($name, $extra_conf, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'agentguard'\n" . ($extra_conf // ''));
	return $node;
}

# STATEMENT run under quarantine_drops = 'all' in an open transaction, then
# an immediate shutdown before it commits and a start again; returns how
# many quarantine entries the transaction saw inside
sub crash_inside
{
	my ($node, $statement) = @_;
	my $session = $node->background_psql('postgres');
	$session->query_safe(q{SET agentguard.quarantine_drops = 'all'});
	$session->query_safe('BEGIN');
	$session->query_safe($statement);
	# PostgreSQL 16's background psql ends its answer with a newline, later ones do not
	my $inside = $session->query_safe('SELECT count(*) FROM agentguard.quarantine');
	chomp $inside;
	$node->stop('immediate');
	$session->{run}->kill_kill if $session->{run};
	$node->start;
	return $inside;
}

# SQL that installs agentguard, trusts PUBLIC_KEY as signer "dba", and makes
# the agent "bot" the owner of TABLES of 100 rows each
sub bot_setup_sql
{
	my ($public_key, @tables) = @_;
	my $sql = qq{
	CREATE EXTENSION agentguard;
	SELECT agentguard.add_signer('dba', '$public_key');
	CREATE ROLE bot LOGIN;
	SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
};
	$sql .= qq{
	CREATE TABLE $_(id int);
	INSERT INTO $_ SELECT generate_series(1, 100);
	ALTER TABLE $_ OWNER TO bot;
} foreach @tables;
	return $sql;
}

1;
