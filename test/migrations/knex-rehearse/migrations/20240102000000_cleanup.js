/*
 * knex, for test/node/rehearse-test.js: a migration with three destructive
 * steps of different kinds, rehearsed first when AGENTGUARD_REHEARSE is set
 * (knex runs it in a transaction, which the rehearsal makes one that cannot
 * commit)
 */
'use strict';

exports.up = async knex => {
	if (process.env.AGENTGUARD_REHEARSE)
		await knex.raw('SET LOCAL agentguard.rehearse = on');
	await knex.schema.alterTable('accounts', t => {
		t.dropColumn('legacy_code');
	});
	await knex.schema.dropTable('old_audit');
	await knex('sessions').del();
};

exports.down = async () => {
	throw new Error('not needed by the test');
};
