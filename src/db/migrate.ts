// `npm run migrate` applies pending migrations; `npm run migration:create [name]` writes a new one from the
// difference between the entities and the database.
import { openDatabase } from '../backends.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { openOrm } from './orm.ts';
import { migrate } from './schema.ts';

const [command = 'up', name] = process.argv.slice(2);
const config = loadConfig();
const database = await openDatabase(config, createLogger(config));
const orm = await openOrm(database.url);
try {
  if (command === 'up') {
    const applied = await migrate(orm);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
  } else if (command === 'create') {
    await migrate(orm);
    const result = await orm.migrator.create(undefined, false, false, name);
    console.log(result.fileName ? `created migrations/${result.fileName}` : 'the schema matches the entities: nothing to create');
  } else {
    console.error(`unknown command "${command}": use "up" or "create [name]"`);
    process.exitCode = 1;
  }
} finally {
  await orm.close();
  await database.close();
}
