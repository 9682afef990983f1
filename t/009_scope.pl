# agentguard.scope = 'all' and the ways out of a lockout (docs/agents.md):
# only a login labelled 'trusted' may set it, by ALTER SYSTEM or otherwise;
# postgresql.conf sets it at server start whoever logs in; and a cluster
# where no trusted login is left is let out by ALTER SYSTEM RESET from a
# trusted login, by editing postgresql.auto.conf, or in single-user mode.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $node = guarded_node('scope');
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION agentguard;
	CREATE ROLE alice LOGIN SUPERUSER;
	SECURITY LABEL FOR agentguard ON ROLE alice IS 'trusted';
});
my $auto_conf = $node->data_dir . '/postgresql.auto.conf';

# (exit status, stdout, stderr) of SQL run by the bootstrap superuser, who
# is not labelled, or by ROLE
sub as
{
	my ($role, $sql) = @_;
	return $node->psql('postgres', $sql, connstr => $node->connstr('postgres') . " user=$role");
}

sub is_agent
{
	my ($role) = @_;
	my ($ret, $out, $err) = as($role, 'SELECT agentguard.is_agent_session()');
	return $ret == 0 ? $out : "error: $err";
}

my $superuser = $node->safe_psql('postgres', 'SELECT current_user');

# a login that is not trusted is refused, with the way to do it
my ($ret, $out, $err) = as($superuser, q{ALTER SYSTEM SET agentguard.scope = 'all'});
isnt($ret, 0, 'ALTER SYSTEM SET agentguard.scope = all from a login that is not trusted is refused');
like($err, qr/ERROR:  agentguard: agentguard.scope = 'all' can only be set from a session whose login role is labelled 'trusted'/,
	'saying that only a trusted login may');
like($err, qr/HINT:  Label the DBAs' login roles first, for instance: SECURITY LABEL FOR agentguard ON ROLE \Q$superuser\E IS 'trusted';/,
	'with a hint that names the role');
unlike(slurp_file($auto_conf), qr/agentguard/, 'and postgresql.auto.conf is left alone');
($ret, $out, $err) = $node->psql('postgres', 'SELECT 1',
	connstr => $node->connstr('postgres') . " options='-c agentguard.scope=all'");
like($err, qr/FATAL:  agentguard: agentguard.scope = 'all' can only be set/, 'so is a connection option');

# a trusted login sets it; every login that is not trusted is an agent's,
# sessions already open included (the reload is not theirs to refuse)
my $open = $node->background_psql('postgres');
($ret, $out, $err) = as('alice', q{ALTER SYSTEM SET agentguard.scope = 'all'});
is($ret, 0, 'a trusted login sets it with ALTER SYSTEM') or diag($err);
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.scope') = 'all'})
  or die 'the reload did not apply agentguard.scope';
$open->query_safe('SELECT 1');
like($open->query_safe(q{SELECT current_setting('agentguard.scope') || ' ' || agentguard.is_agent_session()}),
	qr/^all true\s*$/, 'a session open during the reload takes it too');
$open->quit;
is(is_agent($superuser), 't', 'after the reload a superuser that is not trusted is an agent session');
is(is_agent('alice'), 'f', 'the trusted login is not');
($ret, $out, $err) = as($superuser, 'ALTER SYSTEM RESET agentguard.scope');
like($err, qr/ERROR:  agentguard: /, 'the locked-out superuser cannot reset it');

# way out 1: ALTER SYSTEM RESET from a trusted login
($ret, $out, $err) = as('alice', 'ALTER SYSTEM RESET agentguard.scope');
is($ret, 0, 'ALTER SYSTEM RESET from the trusted login') or diag($err);
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.scope') = 'agents'})
  or die 'the reload did not reset agentguard.scope';
is(is_agent($superuser), 'f', 'lets the superuser out');

# postgresql.conf sets it at server start, with no session to ask
$node->append_conf('postgresql.conf', "agentguard.scope = 'all'\n");
$node->restart;
is($node->safe_psql('postgres', 'SHOW agentguard.scope', connstr => $node->connstr('postgres') . ' user=alice'),
	'all', 'postgresql.conf sets scope all at server start');
is(is_agent($superuser), 't', 'which applies to logins that are not trusted');
$node->adjust_conf('postgresql.conf', 'agentguard.scope', undef);
$node->restart;

# a lockout with no trusted login left: alice sets it, then drops her label
as('alice', q{ALTER SYSTEM SET agentguard.scope = 'all'});
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.scope') = 'all'});
as('alice', q{SECURITY LABEL FOR agentguard ON ROLE alice IS NULL});
is(is_agent('alice'), 't', 'with no trusted login left, everyone is an agent session');

# way out 2: postgresql.auto.conf, where ALTER SYSTEM wrote it, edited by hand
my $auto = slurp_file($auto_conf);
like($auto, qr/^agentguard.scope = 'all'$/m, 'ALTER SYSTEM wrote scope all into postgresql.auto.conf');
$auto =~ s/^agentguard.scope = .*\n//m;
open(my $fh, '>', $auto_conf) or die "cannot write $auto_conf: $!";
print $fh $auto;
close $fh;
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('agentguard.scope') = 'agents'},
	't') or die 'the reload did not reset agentguard.scope';
is(is_agent($superuser), 'f', 'removing the line from postgresql.auto.conf and reloading lets everyone out');

# way out 3: single-user mode, with scope set on its command line
as('alice', q{SECURITY LABEL FOR agentguard ON ROLE alice IS 'trusted'});
as('alice', q{ALTER SYSTEM SET agentguard.scope = 'all'});
as('alice', q{SECURITY LABEL FOR agentguard ON ROLE alice IS NULL});
$node->stop;
my ($single_out, $single_err) = ('', '');
IPC::Run::run(
	[ 'postgres', '--single', '-D', $node->data_dir, '-c', 'agentguard.scope=agents', 'postgres' ],
	'<', \"ALTER SYSTEM RESET agentguard.scope;\nSECURITY LABEL FOR agentguard ON ROLE alice IS 'trusted';\n",
	'>', \$single_out, '2>', \$single_err);
is($?, 0, 'single-user mode with -c agentguard.scope=agents runs ALTER SYSTEM RESET') or diag($single_err);
unlike(slurp_file($auto_conf), qr/agentguard/, 'and postgresql.auto.conf no longer sets it');
$node->start;
is(is_agent($superuser), 'f', 'after the restart nobody is locked out');
is(is_agent('alice'), 'f', 'and alice is trusted again');

$node->stop;
done_testing();
