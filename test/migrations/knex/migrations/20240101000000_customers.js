/* knex, for test/node/migrations-test.js: a table with rows; down() drops it */
'use strict';

exports.up = async knex => {
	await knex.schema.createTable('customers', t => {
		t.increments('id');
		t.text('name').notNullable();
	});
	await knex('customers').insert([1, 2, 3, 4, 5].map(i => ({name: `customer ${i}`})));
};

exports.down = knex => knex.schema.dropTable('customers');
