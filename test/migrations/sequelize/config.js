/*
 * sequelize-cli's configuration for test/node/migrations-test.js: the
 * server, database and role come from PGHOST, PGPORT, PGDATABASE and PGUSER,
 * which the test sets for each run.
 */
'use strict';

module.exports = {
	test: {
		dialect: 'postgres',
		host: process.env.PGHOST,
		port: Number(process.env.PGPORT),
		database: process.env.PGDATABASE,
		username: process.env.PGUSER,
		logging: false,
	},
};
