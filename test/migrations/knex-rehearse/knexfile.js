/*
 * knex's configuration for test/node/rehearse-test.js.  node-postgres takes
 * the server, database and role from PGHOST, PGPORT, PGDATABASE and PGUSER,
 * which the test sets for each run.
 */
'use strict';

const path = require('path');

module.exports = {
	client: 'pg',
	connection: {},
	migrations: {directory: path.join(__dirname, 'migrations')},
};
