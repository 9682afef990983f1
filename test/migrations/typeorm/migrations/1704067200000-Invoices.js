/*
 * TypeORM, for test/node/migrations-test.js, as a plain JavaScript class: a
 * table, a column added to it and rows; down() drops the table.  The class
 * name ends in the timestamp TypeORM orders migrations by.
 */
'use strict';

const {Table, TableColumn} = require('typeorm');

module.exports = class Invoices1704067200000 {
	async up(queryRunner) {
		await queryRunner.createTable(new Table({
			name: 'invoices',
			columns: [
				{name: 'id', type: 'int', isPrimary: true, isGenerated: true, generationStrategy: 'increment'},
				{name: 'number', type: 'text'},
			],
		}));
		await queryRunner.addColumn('invoices', new TableColumn({name: 'total', type: 'int', default: 0}));
		await queryRunner.query(`INSERT INTO invoices (number, total)
			SELECT 'INV-' || g, 25 * g FROM generate_series(1, 7) g`);
	}

	async down(queryRunner) {
		await queryRunner.dropTable('invoices');
	}
};
