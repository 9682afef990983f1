# A rehearsed migration, end to end through psql and the agentguard
# program: the refused COMMIT's error (SQLSTATE, message, DETAIL request
# line, HINT), a crash in the middle of a rehearsal (nothing of it is left
# after the restart), "agentguard approve" of the newest refusal, which is
# the batch, and each statement of it used once across a crash.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $node = guarded_node('rehearse');
$node->start;
my $keyfile = $node->basedir . '/dba.pem';
my $public_key = keygen($keyfile);
$node->safe_psql('postgres', bot_setup_sql($public_key, 'accounts', 'logs'));
my $connstr = $node->connstr('postgres');

my $migration = q{
	BEGIN;
	SET LOCAL agentguard.rehearse = on;
	DROP TABLE logs;
	DELETE FROM accounts;
	COMMIT;
};
my $state_sql = q{
	SELECT (SELECT count(*) || ':' || md5(string_agg(id::text, ',' ORDER BY id)) FROM accounts) || ' ' ||
	       (to_regclass('logs') IS NOT NULL) || ' ' ||
	       (SELECT count(*) FROM agentguard.quarantine) || ' ' ||
	       (SELECT count(*) FROM pg_prepared_xacts)
};
my $before = $node->safe_psql('postgres', $state_sql);
like($before, qr/^100:\S+ true 0 0$/, 'before: 100 accounts, the logs table, nothing kept');

sub as_bot
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql,
		connstr => "$connstr user=bot", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($ret, $stdout, $stderr);
}

# ---- the refused COMMIT ----
my ($ret, $stdout, $stderr) = as_bot($migration);
like($stderr, qr/ERROR:  42501: agentguard: this transaction was a rehearsal and cannot commit; 2 statements in it need approval$/m,
	'COMMIT fails with SQLSTATE 42501 and a message that says it was a rehearsal');
my ($batch) = $stderr =~ /^DETAIL:  request: (agb1\.[A-Za-z0-9_-]+)$/m;
ok($batch, 'its DETAIL has a line "request: <batch code>"') or diag($stderr);
like($stderr, qr/^HINT:  Ask a DBA to approve the batch/m, 'and a HINT');
is($node->safe_psql('postgres', $state_sql), $before, 'nothing the rehearsal did is left');

my ($out, $err);
IPC::Run::run([ $agentguard, 'inspect', $batch ], '>', \$out, '2>', \$err);
like($out, qr/^batch: +2 statements/m, 'agentguard inspect shows a batch');
like($out, qr/statement: +DROP TABLE logs.*statement: +DELETE FROM accounts.*rows: +100 /s,
	'with every statement in order, and the rows the DELETE changed');

# ---- a crash in the middle of a rehearsal ----
my ($in, $bout, $berr) = ('', '', '');
my $agent = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', "$connstr user=bot" ],
	'<', \$in, '>', \$bout, '2>', \$berr);
$in .= "BEGIN; SET LOCAL agentguard.rehearse = on; DROP TABLE logs; DELETE FROM accounts; SELECT 'inside';\n";
$agent->pump until $bout =~ /inside/;
$node->stop('immediate');
$agent->kill_kill;
$node->start;
is($node->safe_psql('postgres', $state_sql), $before,
	'after a crash in the middle of a rehearsal everything is where it was, and nothing is kept');
is($node->safe_psql('postgres', q{SELECT count(*) FROM agentguard.audit WHERE event IN ('confirm', 'use')}),
	'0', 'and nothing was confirmed or used');

# ---- approve the batch, the newest refusal, and run the migration ----
($ret, $stdout, $stderr) = as_bot($migration);
my ($status, $aout, $aerr) = (0, '', '');
IPC::Run::run([ $agentguard, 'approve', '--yes', '--key', $keyfile, $connstr ],
	'>', \$aout, '2>', \$aerr);
is($? >> 8, 0, 'agentguard approve signs and confirms the newest refusal') or diag($aerr);
like($aerr, qr/^batch: +2 statements.*DROP TABLE logs.*DELETE FROM accounts/ms,
	'after showing every statement of the batch');
like($aout, qr/^confirmed: role \S+ may run each of these 2 statements once/, 'the server confirms the batch');

($ret, $stdout, $stderr) = as_bot('DELETE FROM accounts');
is($ret, 0, 'one statement of the batch runs in a transaction of its own') or diag($stderr);
$node->stop('immediate');
$node->start;
($ret, $stdout, $stderr) = as_bot("INSERT INTO accounts SELECT generate_series(1, 100); DELETE FROM accounts");
like($stderr, qr/already used/, 'after a crash it stays used: it runs once');
($ret, $stdout, $stderr) = as_bot('DROP TABLE logs');
is($ret, 0, 'the other statement of the batch still runs, after the crash') or diag($stderr);
is($node->safe_psql('postgres', q{SELECT string_agg(kind || ' ' || original_name, ',' ORDER BY kind) FROM agentguard.quarantine}),
	'rows accounts,table logs', 'what its statements destroyed is kept in quarantine');
($ret, $stdout, $stderr) = as_bot('DROP TABLE logs');
isnt($ret, 0, 'and it does not run twice');

done_testing();
