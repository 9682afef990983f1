# Security findings that need a server log, a crash or the end of a
# session to show: decoded times that a crafted token puts out of range
# (finding 2: it crashed the server, and crash recovery empties every
# unlogged table), names that would forge log lines, and the end of a
# session dropping an old table that depends on a temporary type
# (finding 3).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MIME::Base64 qw(encode_base64 decode_base64);

use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $keydir = PostgreSQL::Test::Utils::tempdir();
my $key = "$keydir/dba.pem";
my $public_key = keygen($key);

my $node = guarded_node('security', "agentguard.max_rows = 10\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', bot_setup_sql($public_key, 'orders') . q{
	CREATE UNLOGGED TABLE cache(id int);
	INSERT INTO cache SELECT generate_series(1, 100);
	ALTER TABLE cache OWNER TO bot;
	GRANT CREATE ON SCHEMA public TO bot;
});

sub as_agent
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $ret = $node->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', 'bot' ]);
	return ($ret, $stdout, $stderr);
}

sub b64url_decode
{
	my ($s) = @_;
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return decode_base64($s);
}

sub b64url_encode
{
	my ($bytes) = @_;
	my $s = encode_base64($bytes, '');
	$s =~ tr{+/}{-_};
	$s =~ s/=+\z//;
	return $s;
}

# a real token with its issue and expiry times replaced (the signature no
# longer verifies, but inspect and confirm must decode it first)
sub token_with_times
{
	my ($token, $issued, $expires) = @_;
	my $body = b64url_decode(substr($token, 5));
	my $request_len = unpack('n', substr($body, 1, 2));
	# version 2: the times follow the request body (src/request.h)
	my $times = 3 + $request_len;
	substr($body, $times, 16) = pack('q>q>', $issued, $expires);
	return 'agt1.' . b64url_encode($body);
}

# ---- finding 2: times out of range never crash ----
my ($ret, $stdout, $stderr) = as_agent('TRUNCATE orders');
my $token = sign($key, request_code($stderr));
my $max = '9223372036854775807';
foreach my $case ([ 0, $max ], [ 1000, 253402300800 ], [ -5, 10 ], [ $max - 1, $max ])
{
	my $crafted = token_with_times($token, @$case);
	foreach my $function ('inspect', 'confirm')
	{
		($ret, $stdout, $stderr) =
		  as_agent("SELECT agentguard.$function('$crafted')");
		like($stderr, qr/agentguard: the token is malformed/,
			"$function of a token issued $case->[0], expiring $case->[1]: a clear error");
	}
}
# a time the decoder accepts, at its very end, is shown, not crashed on
my $late = token_with_times($token, 0, 253402300799);
($ret, $stdout, $stderr) = as_agent("SELECT agentguard.inspect('$late')");
like($stdout, qr/expires at: +9999-12-31 23:59:59 UTC/, 'the latest time a token may name is shown');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cache'), '100',
	'the server never crashed: the unlogged table still has its rows');

# ---- names that would forge a log line ----
$node->safe_psql('postgres',
	qq{CREATE TABLE "x\nLOG:  agentguard: confirmed role=dba"(id int);
	   ALTER TABLE "x\nLOG:  agentguard: confirmed role=dba" OWNER TO bot;});
my $log_offset = -s $node->logfile;
($ret, $stdout, $stderr) =
  as_agent(qq{DROP TABLE "x\nLOG:  agentguard: confirmed role=dba"});
like($stderr, qr/agentguard: refused to drop table/, 'the drop of the oddly named table is refused');
my $log = slurp_file($node->logfile, $log_offset);
# (the server's own echo of the statement indents its second line)
unlike($log, qr/^LOG:  agentguard: confirmed role=dba/m,
	'no line of the log begins as a forged confirmation');
like($log, qr/objects="public\.""x\\x0aLOG:  agentguard: confirmed role=dba"""/,
	'the newline is written \\x0a in the refusal line');
# and in the lines of a quarantine and a restore, a DBA's under 'all'
$log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	qq{SET agentguard.quarantine_drops = 'all'; DROP TABLE "x\nLOG:  agentguard: confirmed role=dba";
	   SELECT agentguard.restore(max(id)) FROM agentguard.quarantine;});
$log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/^LOG:  agentguard: confirmed role=dba/m,
	'nor does the quarantine or the restore of it forge one');
like($log, qr/agentguard: quarantined .*objects="public\.""x\\x0aLOG:  agentguard: confirmed role=dba"""/,
	'the newline is written \\x0a in the quarantined line');
like($log, qr/agentguard: restored .*objects="public\.""x\\x0aLOG:  agentguard: confirmed role=dba"""/,
	'and in the restored line');

# ---- finding 3: the end of a session drops nothing old ----
($ret, $stdout, $stderr) = as_agent(q{
	CREATE TYPE pg_temp.shape AS (id int);
	ALTER TABLE orders OF pg_temp.shape;
});
like($stderr, qr/agent sessions cannot make an object depend on a temporary one/,
	'an old table cannot be made of a temporary type');
($ret, $stdout, $stderr) = as_agent(q{
	CREATE FUNCTION pg_temp.one() RETURNS int LANGUAGE sql AS 'SELECT 1';
	CREATE VIEW orders_view AS SELECT id, pg_temp.one() FROM orders;
});
like($stderr, qr/agent sessions cannot make an object depend on a temporary one/,
	'nor can a view use a temporary function');
is($node->safe_psql('postgres',
		q{SELECT count(*) || ' ' || coalesce(to_regclass('orders_view')::text, '-') FROM orders}),
	'100 -', 'after those sessions ended, every row is there and no view was left');

$node->stop;
done_testing();
