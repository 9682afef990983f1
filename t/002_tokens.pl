# Confirmation tokens across restarts, crashes, clusters and a promoted
# standby: a token is used once, whatever happens to the server, and works
# only on the cluster and environment whose refusal it answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $key = PostgreSQL::Test::Utils::tempdir() . '/dba.pem';
my $public_key = keygen($key);
my $out;

# runs SQL as the agent; returns (exit code, stderr)
sub as_agent
{
	my ($node, $sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql,
		connstr => $node->connstr('postgres') . ' user=bot');
	return ($ret, $stderr);
}

my $primary = guarded_node('production', "agentguard.environment = 'production'\n", allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', bot_setup_sql($public_key, 'orders', 'lines'));
my $rows = sub { $_[0]->safe_psql('postgres', "SELECT count(*) FROM $_[1]") };

# a standby that receives the confirmations, and a clone with the same
# system identifier whose DBA named it staging
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
my $staging = PostgreSQL::Test::Cluster->new('staging');
$staging->init_from_backup($primary, 'base');
$staging->append_conf('postgresql.conf', "agentguard.environment = 'staging'\n");
$staging->start;
is($staging->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
	$primary->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
	'the staging clone shares production\'s system identifier');

# a token waiting through a clean restart is still good, once
my ($ret, $stderr) = as_agent($primary, 'TRUNCATE orders');
my $code = request_code($stderr);
ok($code, 'TRUNCATE refused with a request code');
my $token = sign($key, $code);
$primary->safe_psql('postgres', "SELECT agentguard.confirm('$token')");
$primary->restart;
($ret, $stderr) = as_agent($primary, 'TRUNCATE orders');
is($ret, 0, 'a confirmed token survives a restart and lets the statement run');
is($rows->($primary, 'orders'), '0', 'the statement ran');
$primary->safe_psql('postgres', 'INSERT INTO orders SELECT generate_series(1, 100)');
$primary->restart;
($ret, $stderr) = as_agent($primary, 'TRUNCATE orders');
like($stderr, qr/already used/, 'after another restart the used token stays used');
is($rows->($primary, 'orders'), '100', 'nothing changed');

# crash while the token is in use but not committed: the token is not spent;
# crash after commit: it is
($ret, $stderr) = as_agent($primary, 'TRUNCATE lines');
$code = request_code($stderr);
$token = sign($key, $code);
$primary->safe_psql('postgres', "SELECT agentguard.confirm('$token')");
my ($in, $bout, $berr) = ('', '', '');
my $h = IPC::Run::start(
	[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $primary->connstr('postgres') . ' user=bot' ],
	'<', \$in, '>', \$bout, '2>', \$berr);
$in .= "BEGIN;\nTRUNCATE lines;\nSELECT 'truncated';\n";
$h->pump until $bout =~ /truncated/ || $berr =~ /ERROR/;
is($berr, '', 'the agent is inside the approved TRUNCATE');
$primary->stop('immediate');
$h->finish;
$primary->start;
is($rows->($primary, 'lines'), '100', 'after a crash mid-transaction nothing was truncated');
is($primary->safe_psql('postgres',
		"SELECT used_at IS NULL FROM agentguard.confirmations WHERE objects = 'public.lines'"),
	't', 'and the token was not spent');
($ret, $stderr) = as_agent($primary, 'TRUNCATE lines');
is($ret, 0, 'so it still lets the statement run once');
$primary->stop('immediate');
$primary->start;
is($rows->($primary, 'lines'), '0', 'a committed use survives a crash');
$primary->safe_psql('postgres', 'INSERT INTO lines SELECT generate_series(1, 100)');
($ret, $stderr) = as_agent($primary, 'TRUNCATE lines');
like($stderr, qr/already used/, 'and the token stays spent after crash recovery');

# the staging clone: same cluster id, same signer, same names, but another
# environment; and production's environment on a token from staging
($ret, $stderr) = as_agent($primary, 'TRUNCATE orders');
$token = sign($key, request_code($stderr));
($ret, $out, $stderr) = $staging->psql('postgres', "SELECT agentguard.confirm('$token')");
like($stderr, qr/token refused: wrong environment/, 'a production token is refused on the staging clone');
like($stderr, qr/The token is for environment "production"; this is "staging"/, 'and says which environments');
($ret, $stderr) = as_agent($staging, 'TRUNCATE orders');
my $staging_token = sign($key, request_code($stderr));
($ret, $out, $stderr) = $primary->psql('postgres', "SELECT agentguard.confirm('$staging_token')");
like($stderr, qr/token refused: wrong environment/, 'a staging token is refused on production');
is($rows->($primary, 'orders'), '100', 'production unchanged');
is($rows->($staging, 'orders'), '100', 'staging unchanged');

# a cluster of its own (another system identifier) refuses the token too
my $other = guarded_node('other', "agentguard.environment = 'production'\n");
$other->start;
$other->safe_psql('postgres', bot_setup_sql($public_key, 'orders'));
($ret, $out, $stderr) = $other->psql('postgres', "SELECT agentguard.confirm('$token')");
like($stderr, qr/token refused: wrong cluster/, 'a token for one cluster is refused on another');
($ret, $stderr) = as_agent($other, 'TRUNCATE orders');
like($stderr, qr/refused to truncate/, 'and the statement stays refused there');
is($rows->($other, 'orders'), '100', 'the other cluster is unchanged');
$other->stop;
$staging->stop;

# the standby receives the used token; promoted, it refuses the replay and
# still honours a token that was confirmed but not used
$primary->safe_psql('postgres', "SELECT agentguard.confirm('$token')");
($ret, $stderr) = as_agent($primary, 'TRUNCATE orders');
is($ret, 0, 'the token is used on the primary');
$primary->safe_psql('postgres', 'INSERT INTO orders SELECT generate_series(1, 100)');
($ret, $stderr) = as_agent($primary, 'TRUNCATE lines');
my $waiting = sign($key, request_code($stderr));
$primary->safe_psql('postgres', "SELECT agentguard.confirm('$waiting')");
$primary->wait_for_catchup($standby);
($ret, $out, $stderr) = $standby->psql('postgres', "SELECT agentguard.confirm('$token')");
like($stderr, qr/cannot execute agentguard.confirm\(\) during recovery/,
	'a standby in recovery says a confirmation cannot be made there');
$primary->stop;
$standby->promote;
($ret, $out, $stderr) = $standby->psql('postgres', "SELECT agentguard.confirm('$token')");
like($stderr, qr/token refused: it was already used/, 'the promoted standby refuses a replayed token');
($ret, $stderr) = as_agent($standby, 'TRUNCATE orders');
like($stderr, qr/refused to truncate/, 'and the statement it approved stays refused');
is($rows->($standby, 'orders'), '100', 'nothing changed on the promoted standby');
($ret, $stderr) = as_agent($standby, 'TRUNCATE lines');
is($ret, 0, 'a token confirmed on the primary and not used works once after promotion');
is($rows->($standby, 'lines'), '0', 'it ran');
$standby->safe_psql('postgres', 'INSERT INTO lines SELECT generate_series(1, 10)');
($ret, $stderr) = as_agent($standby, 'TRUNCATE lines');
like($stderr, qr/refused to truncate/, 'and only once');

$standby->stop;
done_testing();
