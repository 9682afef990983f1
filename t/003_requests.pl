# agentguard.requests across restarts, crashes and floods of refusals, and
# "agentguard approve" from a refusal to the statement running.
#
# The recent refusals live in shared memory: a clean (or immediate) shutdown
# writes them to pg_stat/agentguard_requests.stat and the next start reads
# them back; a crashed server process resets shared memory without writing
# them, so they are gone, as the server's own statistics are.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $keydir = PostgreSQL::Test::Utils::tempdir();
my $key = "$keydir/dba.pem";
my $stranger_key = "$keydir/stranger.pem";
my $public_key = keygen($key);
keygen($stranger_key);

my $node = guarded_node('main',
	"agentguard.environment = 'production'\n"
	  . "agentguard.max_requests = 10\n"
	  . "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', bot_setup_sql($public_key, 'orders', 'lines') . q{
	SELECT format('CREATE TABLE flood_%s(id int); INSERT INTO flood_%s VALUES (1); ALTER TABLE flood_%s OWNER TO bot', i, i, i)
	FROM generate_series(1, 15) i \\gexec
	CREATE DATABASE other;
});
$node->safe_psql('other', 'CREATE EXTENSION agentguard');
my $stat_file = $node->data_dir . '/pg_stat/agentguard_requests.stat';

# runs SQL as the agent; returns (exit code, stderr).  on_error_stop => 0
# runs every statement even after an error, and then exits with 0.
sub as_agent
{
	my ($sql, %params) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql,
		connstr => $node->connstr('postgres') . ' user=bot', %params);
	return ($ret, $stderr);
}

# the kept refusals, newest first, as "statement|times" lines
sub requests
{
	return $node->safe_psql('postgres',
		"SELECT statement || '|' || times FROM agentguard.requests");
}

# runs "agentguard approve ARGS" with INPUT on stdin; returns (exit code,
# stdout, stderr)
sub approve
{
	my ($input, @args) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ $agentguard, 'approve', @args ],
		'<', \$input, '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

my $rows = sub { $node->safe_psql('postgres', "SELECT count(*) FROM $_[0]") };
my $connstr = $node->connstr('postgres');

# ---- the record: repeats, restarts, crashes, floods ----

as_agent('DELETE FROM orders');
as_agent('DELETE FROM orders');
is(requests(), 'DELETE FROM orders|2', 'a repeated refusal is kept once and counted');
my $refused_at = $node->safe_psql('postgres', 'SELECT refused_at FROM agentguard.requests');

$node->stop;
ok(-f $stat_file, 'a clean shutdown writes the refusals to a file');
$node->start;
ok(!-f $stat_file, 'the next start reads the file and removes it');
is(requests(), 'DELETE FROM orders|2', 'the refusals and their counts survive a clean restart');
is($node->safe_psql('postgres', 'SELECT refused_at FROM agentguard.requests'),
	$refused_at, 'and so does the time of the last refusal');
as_agent('DELETE FROM orders');
is(requests(), 'DELETE FROM orders|3', 'a repeat after the restart is counted with the others');

$node->stop('immediate');
$node->start;
is(requests(), 'DELETE FROM orders|3', 'an immediate shutdown keeps them too');

# a server process that dies makes the postmaster reset shared memory
my ($in, $bout, $berr) = ('', '', '');
my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $connstr ],
	'<', \$in, '>', \$bout, '2>', \$berr);
$in .= "SELECT pg_backend_pid();\n";
$h->pump until $bout =~ /^(\d+)$/m;
my $victim = $1;
kill 'KILL', $victim;
$h->finish;
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
is(requests(), '', 'after a crash the record starts empty');
ok(!-f $stat_file, 'and no file was left to bring old refusals back');

# more refusals than agentguard.max_requests (10): the oldest go first
as_agent(join("\n", map { "TRUNCATE flood_$_;" } 1 .. 15), on_error_stop => 0);
is(requests(), join("\n", map { "TRUNCATE flood_$_|1" } reverse 6 .. 15),
	'a flood of refusals keeps the newest 10');
as_agent('TRUNCATE flood_6');
as_agent('TRUNCATE flood_1');
is(requests(),
	join("\n", 'TRUNCATE flood_1|1', 'TRUNCATE flood_6|2', map { "TRUNCATE flood_$_|1" } reverse 8 .. 15),
	'a repeat makes a request the newest again, so the oldest other one makes room');

# a damaged file costs the entries from the damage on, and nothing else
$node->stop;
truncate($stat_file, (-s $stat_file) - 8) or die "could not truncate $stat_file: $!";
my $log_offset = -s $node->logfile;
$node->start;
ok($node->log_contains(qr/agentguard: ignoring the rest of damaged file/, $log_offset),
	'a damaged file is reported in the server log');
is(requests(),
	join("\n", 'TRUNCATE flood_6|2', map { "TRUNCATE flood_$_|1" } reverse 8 .. 15),
	'and the entries before the damage are kept');
ok(!-f $stat_file, 'and the damaged file is removed');

# ---- agentguard approve ----

my ($ret, $stdout, $stderr);

# the newest refusal, approved from a script; the agent only retries
as_agent('DELETE FROM orders');
($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $connstr);
is($ret, 0, 'approve --yes approves the newest refusal');
like($stderr, qr/\Arequest refused 1 time, last at [^\n]+:\nenvironment: production\n/,
	'it shows the environment first');
like($stderr, qr/^statement: +DELETE FROM orders$/m, 'and the statement');
like($stdout, qr/^confirmed: role bot may run this once/, 'and prints what the server confirmed');
($ret, $stderr) = as_agent('DELETE FROM orders');
is($ret, 0, 'the agent retries and the statement runs');
is($rows->('orders'), '0', 'it ran');

# an explicit code, not the newest
my $code;
($ret, $stderr) = as_agent('DELETE FROM lines');
$code = request_code($stderr);
as_agent('TRUNCATE flood_2');
($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $connstr, $code);
is($ret, 0, 'approve takes an explicit request code');
like($stderr, qr/^statement: +DELETE FROM lines$/m, 'and approves that one');
($ret, $stderr) = as_agent('DELETE FROM lines');
is($ret, 0, 'which then runs');
($ret, $stderr) = as_agent('TRUNCATE flood_2');
isnt($ret, 0, 'while the newer refusal stays refused');

# the question on stdin: anything but yes approves nothing
$node->safe_psql('postgres', 'INSERT INTO orders SELECT generate_series(1, 100)');
as_agent('DELETE FROM orders');
($ret, $stdout, $stderr) = approve("n\n", '--key', $key, $connstr);
is($ret, 1, 'answering n exits with status 1');
like($stderr, qr/approve\? \[y\/N\] agentguard: not approved; nothing was signed or confirmed\n\z/,
	'and says nothing was approved');
is($stdout, '', 'nothing is printed as confirmed');
($ret, $stderr) = as_agent('DELETE FROM orders');
like($stderr, qr/refused to delete from public\.orders/, 'the statement stays refused');
($ret, $stdout, $stderr) = approve('', '--key', $key, $connstr);
is($ret, 1, 'no answer at all (end of input) approves nothing either');
($ret, $stdout, $stderr) = approve("yes\n", '--key', $key, $connstr);
is($ret, 0, 'answering yes approves');
($ret, $stderr) = as_agent('DELETE FROM orders');
is($ret, 0, 'and the statement runs');

# the PG* variables stand in for a connection string, as for psql
$node->safe_psql('postgres', 'INSERT INTO orders SELECT generate_series(1, 100)');
as_agent('DELETE FROM orders');
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = 'postgres';
	($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key);
}
is($ret, 0, 'approve connects with the PG* variables');
($ret, $stderr) = as_agent('DELETE FROM orders');
is($ret, 0, 'and the statement runs');

# failures: one clear line (the server's DETAIL and HINT after it), status 1
$node->safe_psql('postgres', 'INSERT INTO orders SELECT generate_series(1, 100)');
($ret, $stderr) = as_agent('DELETE FROM orders');
$code = request_code($stderr);

($ret, $stdout, $stderr) = approve('', '--yes', '--key', $stranger_key, $connstr);
is($ret, 1, 'a key that is not a trusted signer fails');
like($stderr,
	qr/^agentguard: the server did not accept the confirmation: token refused: unknown signer\nDETAIL:  No signer with key id [0-9a-f]+ is trusted in this database\.\nHINT:  /m,
	'with the server\'s message, detail and hint');
($ret, $stderr) = as_agent('DELETE FROM orders');
like($stderr, qr/refused to delete/, 'and nothing was approved');

($ret, $stdout, $stderr) = approve('', '--yes', '--key', "$keydir/missing.pem", $connstr);
is($ret, 1, 'an unreadable key fails');
like($stderr, qr/\Aagentguard: could not open key file "[^"]*missing\.pem": No such file or directory\n\z/,
	'saying which file and why');

my $bad_port = PostgreSQL::Test::Cluster::get_free_port();
my $nowhere = 'host=' . $node->host . " port=$bad_port dbname=postgres";
($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $nowhere);
is($ret, 1, 'an unreachable server fails');
like($stderr, qr/\Aagentguard: could not connect to the server: [^\n]+\n\z/,
	'in one line');

($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $nowhere, 'agr1.not-a-code');
is($ret, 1, 'a malformed code fails');
like($stderr, qr/\Aagentguard: [^\n]+\n\z/, 'in one line');
unlike($stderr, qr/connect/, 'before any connection is tried');

# a token is taken to add a signature to; a malformed one fails at once
($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $nowhere, 'agt1.AAAA');
is($ret, 1, 'a malformed token fails');
like($stderr, qr/\Aagentguard: token version is not supported\n\z/,
	'in one line, before any connection is tried');

($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $node->connstr('other'));
is($ret, 1, 'a database without refusals has nothing to approve');
like($stderr, qr/\Aagentguard: no refused statement is waiting in database "other"/,
	'and says so');

($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key, $node->connstr('other'), $code);
is($ret, 1, 'a code for another database fails');
like($stderr, qr/the request is for database "postgres", but the connection is to "other"/,
	'before signing anything');

($ret, $stdout, $stderr) = approve('', '--yes', '--key', $key,
	"$connstr options=-cagentguard.agent=on");
is($ret, 1, 'an agent session cannot read the refusals, a superuser\'s included');
like($stderr, qr/\Aagentguard: could not read agentguard.requests: agent sessions cannot read agentguard.requests\n/,
	'and the server says why');

($ret, $stdout, $stderr) = approve('', '--key', $key, $connstr, '-');
is($ret, 2, 'a code on stdin needs --yes, since the answer comes from stdin too');

($ret, $stderr) = as_agent('DELETE FROM orders');
like($stderr, qr/refused to delete/, 'none of the failures approved anything');
is($rows->('orders'), '100', 'and nothing changed');

$node->stop;
done_testing();
