/*
 * TypeORM's data source for test/node/migrations-test.js, in plain
 * JavaScript so that "typeorm migration:run -d datasource.js" needs no
 * TypeScript.  The server, database and role come from PGHOST, PGPORT,
 * PGDATABASE and PGUSER, which the test sets for each run.
 */
'use strict';

require('reflect-metadata');
const path = require('path');
const {DataSource} = require('typeorm');

module.exports = new DataSource({
	type: 'postgres',
	host: process.env.PGHOST,
	port: Number(process.env.PGPORT),
	database: process.env.PGDATABASE,
	username: process.env.PGUSER,
	migrations: [path.join(__dirname, 'migrations', '*.js')],
});
