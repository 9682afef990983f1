# A kept column across a crash: an immediate shutdown in the middle of
# keeping a confirmed DROP COLUMN leaves the column where it was, with every
# value, and no entry; once committed, the entry survives a crash whole and
# restore brings every value back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../test/perl";
use AgentGuardTest;

my $node = guarded_node('columns');
$node->start;
my $keyfile = $node->basedir . '/dba.pem';
my $public_key = keygen($keyfile);
$node->safe_psql('postgres', bot_setup_sql($public_key) . q{
	CREATE TABLE customers(id int PRIMARY KEY, email text NOT NULL DEFAULT 'none', credit numeric(10, 2));
	INSERT INTO customers SELECT g, 'c' || g || '@example.com', g * 1.25 FROM generate_series(1, 5000) g;
	CREATE INDEX customers_email ON customers (email);
	ALTER TABLE customers OWNER TO bot;
	-- holds the quarantine in the middle of its steps while the test wants it
	CREATE FUNCTION hold() RETURNS event_trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF current_setting('test.hold', true) = 'on' THEN
			PERFORM pg_advisory_lock(4242);
			PERFORM pg_advisory_unlock(4242);
		END IF;
	END $$;
	CREATE EVENT TRIGGER hold ON ddl_command_end EXECUTE FUNCTION hold();
});
my $state_sql = q{
	SELECT (SELECT count(*) FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'email') || ' ' ||
	       (SELECT count(*) FROM pg_class WHERE relnamespace = 'agentguard_quarantine'::regnamespace) || ' ' ||
	       (SELECT count(*) FROM agentguard.quarantine) || ' ' ||
	       (SELECT count(*) FROM pg_class WHERE relname = 'customers_email')
};
my $checksum_sql =
  q{SELECT count(*) || ':' || md5(string_agg(id || ':' || email || ':' || credit, ',' ORDER BY id)) FROM customers};
my $before = $node->safe_psql('postgres', $checksum_sql);
is($node->safe_psql('postgres', $state_sql), '1 0 0 1', 'before: the column and its index');

# a confirmation for the agent's DROP COLUMN
sub confirm_sql
{
	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', 'ALTER TABLE customers DROP COLUMN email', extra_params => [ '-U', 'bot' ]);
	my $code = request_code($stderr);
	die "no request code: $stderr" unless $code;
	return "SELECT agentguard.confirm('" . sign($keyfile, $code) . "');";
}

# crash while the column is half way kept
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4242)');
my ($in, $out, $err) = ('', '', '');
my $agent = IPC::Run::start(
	[ 'psql', '-XAtq', '-U', 'bot', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
$in .= confirm_sql() . " SET test.hold = 'on'; ALTER TABLE customers DROP COLUMN email;\n";
$agent->pump_nb;
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")
  or die 'the DROP COLUMN never reached its held step';
$node->stop('immediate');
$agent->kill_kill;
$holder->{run}->kill_kill if $holder->{run};
$node->start;
is($node->safe_psql('postgres', $state_sql), '1 0 0 1',
	'after a crash mid-quarantine the column and its index are where they were, and nothing is kept');
is($node->safe_psql('postgres', $checksum_sql), $before, 'with every value');

# the approval was not used by the attempt the crash undid: the same
# statement runs on it now, and, committed, survives a crash whole
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'ALTER TABLE customers DROP COLUMN email', extra_params => [ '-U', 'bot' ]);
is($ret, 0, 'the confirmed DROP COLUMN runs on the approval given before the crash') or diag($stderr);
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $state_sql), '0 1 1 0', 'after a crash past the commit the column is kept');
like($node->safe_psql('postgres', 'SELECT agentguard.restore(id) FROM agentguard.quarantine'),
	qr/^restored public\.customers\.email \(5000 values went back into their rows\)$/,
	'restore says every value went back');
is($node->safe_psql('postgres', $state_sql), '1 0 0 1', 'the column and its index are back');
is($node->safe_psql('postgres', $checksum_sql), $before, 'with every value');
is($node->safe_psql('postgres',
		q{SELECT attnotnull || ' ' || pg_get_expr(adbin, adrelid) FROM pg_attribute JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
		  WHERE attrelid = 'customers'::regclass AND attname = 'email'}),
	"true 'none'::text", 'its NOT NULL and default too');

done_testing();
