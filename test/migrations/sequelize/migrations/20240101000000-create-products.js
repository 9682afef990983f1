/*
 * sequelize-cli, for test/node/migrations-test.js: a table, a column added
 * to it and rows, through queryInterface; down() drops the table
 */
'use strict';

module.exports = {
	async up(queryInterface, Sequelize) {
		await queryInterface.createTable('products', {
			id: {type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true},
			name: {type: Sequelize.TEXT, allowNull: false},
		});
		await queryInterface.addColumn('products', 'price', {type: Sequelize.INTEGER, allowNull: false, defaultValue: 0});
		await queryInterface.bulkInsert('products',
			[1, 2, 3, 4, 5, 6].map(i => ({name: `product ${i}`, price: 100 * i})));
	},

	async down(queryInterface) {
		await queryInterface.dropTable('products');
	},
};
