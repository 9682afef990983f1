# Loading: without the preload the extension refuses to install and says how
# to fix it; with it, agent sessions are recognised from a connection option,
# survive a restart, and the request code decodes with the installed tool.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

$ENV{PG_CONFIG} //= 'pg_config';

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->start;

# without shared_preload_libraries
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION agentguard');
isnt($ret, 0, 'CREATE EXTENSION fails without the preload');
like($stderr, qr/agentguard: the library must be loaded at server start/,
	'the error says the library must be preloaded');
like($stderr, qr/HINT:.*shared_preload_libraries/, 'the hint says how to fix it');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension WHERE extname = 'agentguard'"),
	'0', 'no extension was created');

# a second try in the same session still fails (the library stays loaded
# after the first failure, so the script checks again)
($ret, $stdout, $stderr) = $node->psql('postgres',
	"LOAD 'agentguard'; CREATE EXTENSION agentguard;", on_error_stop => 0);
like($stderr, qr/agentguard: the library must be loaded at server start.*agentguard: the library must be loaded at server start/s,
	'LOAD and then CREATE EXTENSION in one session both fail');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension WHERE extname = 'agentguard'"),
	'0', 'still no extension');

# with the preload
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'agentguard'\n"
	. "agentguard.environment = 'tap'\n");
$node->restart;
$node->safe_psql('postgres', q{
	CREATE EXTENSION agentguard;
	CREATE ROLE bot LOGIN SUPERUSER;
	CREATE ROLE plain LOGIN;
	CREATE TABLE precious(id int);
	INSERT INTO precious SELECT generate_series(1, 100);
	ALTER TABLE precious OWNER TO plain;
});

# -c agentguard.agent=on in the connection string makes an agent session
my $agent_conn = $node->connstr('postgres') . " user=plain options='-c agentguard.agent=on'";
($ret, $stdout, $stderr) = $node->psql('postgres', 'SHOW agentguard.agent; DROP TABLE precious;',
	connstr => $agent_conn);
isnt($ret, 0, 'DROP from a session opened with -c agentguard.agent=on fails');
like($stderr, qr/ERROR:  agentguard: refused to drop table public\.precious/, 'it is refused by agentguard');
like($stderr, qr/DETAIL:  request: (agr1\.[A-Za-z0-9_-]+)/, 'with a request code');
my ($code) = $stderr =~ /request: (agr1\.[A-Za-z0-9_-]+)/;
is($node->safe_psql('postgres', 'SELECT count(*) FROM precious'), '100', 'nothing changed');

# the same role without the option is not an agent
$node->safe_psql('postgres', 'SELECT 1', connstr => $node->connstr('postgres') . ' user=plain');
is($node->safe_psql('postgres', 'SELECT agentguard.is_agent_session()',
		connstr => $node->connstr('postgres') . ' user=plain'),
	'f', 'the same role without the option is not an agent');

# the installed agentguard program decodes the code in plain words
my $bindir = `$ENV{PG_CONFIG} --bindir`;
chomp $bindir;
my $sysid = $node->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()');
my ($out, $err);
my $ok = IPC::Run::run([ "$bindir/agentguard", 'inspect', $code ], '>', \$out, '2>', \$err);
ok($ok, 'agentguard inspect accepts the code');
like($out, qr/^environment: tap$/m, 'inspect shows the environment');
like($out, qr/^action: +DROP TABLE$/m, 'inspect shows the action');
like($out, qr/^objects: +public\.precious$/m, 'inspect shows the object');
like($out, qr/^database: +postgres$/m, 'inspect shows the database');
like($out, qr/^cluster: +\Q$sysid\E$/m, 'inspect shows the system identifier in decimal');
like($out, qr/^role: +plain$/m, 'inspect shows the role that logged in');
like($out, qr/^statement: +DROP TABLE precious$/m, 'inspect shows the statement alone');

# a superuser labelled agent cannot connect with agentguard switched off
$node->safe_psql('postgres', q{SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent'});
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP TABLE precious',
	connstr => $node->connstr('postgres') . " user=bot options='-c agentguard.mode=off'");
isnt($ret, 0, 'connection options cannot switch agentguard off for an agent');
like($stderr, qr/agentguard: agent sessions cannot change agentguard settings/, 'with a clear error');

# a role whose DBA turned the switch on cannot turn it off with its own
# connection options
$node->safe_psql('postgres', 'ALTER ROLE plain SET agentguard.agent = on');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT agentguard.is_agent_session(); TRUNCATE precious;',
	connstr => $node->connstr('postgres') . " user=plain options='-c agentguard.agent=off'");
like($stdout, qr/^t$/m, 'ALTER ROLE ... SET agentguard.agent = on binds despite -c agentguard.agent=off');
like($stderr, qr/agentguard: refused to truncate public\.precious/, 'and the TRUNCATE is refused');
is($node->safe_psql('postgres', 'SELECT count(*) FROM precious'), '100', 'nothing changed');
$node->safe_psql('postgres', 'ALTER ROLE plain RESET agentguard.agent');

# labels and the refusal survive a restart
$node->restart;
($ret, $stdout, $stderr) = $node->psql('postgres', 'TRUNCATE precious',
	connstr => $node->connstr('postgres') . ' user=bot');
like($stderr, qr/agentguard: refused to truncate public\.precious/, 'after a restart the label still binds');
is($node->safe_psql('postgres', 'SELECT count(*) FROM precious'), '100', 'nothing changed');

# the refusal is in the server log as one agentguard line
ok($node->log_contains(qr/LOG:  agentguard: refused role=bot database=postgres action="TRUNCATE" objects="public\.precious" request=agr1\./),
	'the refusal is logged with role, database, action, objects and request');

$node->stop;
done_testing();
