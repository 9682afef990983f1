/* knex, for test/node/rehearse-test.js: tables with rows to migrate */
'use strict';

exports.up = async knex => {
	await knex.schema.createTable('accounts', t => {
		t.increments('id');
		t.text('name').notNullable();
		t.text('legacy_code');
	});
	await knex('accounts').insert([1, 2, 3, 4, 5, 6].map(i => ({name: `account ${i}`, legacy_code: `L${i}`})));
	await knex.schema.createTable('old_audit', t => {
		t.increments('id');
	});
	await knex('old_audit').insert([1, 2, 3].map(id => ({id})));
	await knex.schema.createTable('sessions', t => {
		t.increments('id');
		t.integer('account_id');
	});
	await knex('sessions').insert([1, 2, 3, 4].map(i => ({account_id: i})));
};

exports.down = async () => {
	throw new Error('not needed by the test');
};
