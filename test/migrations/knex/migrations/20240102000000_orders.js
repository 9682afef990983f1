/*
 * knex, for test/node/migrations-test.js: a column added to customers and a
 * second table with rows; down() drops the table, then the column
 */
'use strict';

exports.up = async knex => {
	await knex.schema.alterTable('customers', t => {
		t.text('email');
	});
	await knex.schema.createTable('orders', t => {
		t.increments('id');
		// the rollback drops orders, then customers, which orders refers to:
		// the quarantined orders must not hold customers back
		t.integer('customer_id').notNullable().references('id').inTable('customers');
		t.integer('amount').notNullable();
	});
	await knex('orders').insert([1, 2, 3, 4, 5, 6, 7, 8].map(i => ({customer_id: 1 + i % 5, amount: 10 * i})));
};

exports.down = async knex => {
	await knex.schema.dropTable('orders');
	await knex.schema.alterTable('customers', t => {
		t.dropColumn('email');
	});
};
