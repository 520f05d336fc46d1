// `npm run projections:rebuild [name]`: empties a projection's read model and replays the whole log into it
// (every projection when no name is given). Safe while the platform runs: live runners wait on the same lock (the
// embedded PostgreSQL serves one process: stop the platform first in that mode).
import { openDatabase } from '../backends.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { openOrm } from '../db/orm.ts';
import { migrate } from '../db/schema.ts';
import { projections } from './projections/index.ts';
import { catchUp, resetProjection } from './projections/runner.ts';

const name = process.argv[2];
const chosen = name ? projections.filter((p) => p.name === name) : projections;
if (!chosen.length) {
  console.error(`no projection named "${name}"; there are: ${projections.map((p) => p.name).join(', ')}`);
  process.exit(1);
}
const config = loadConfig();
const database = await openDatabase(config, createLogger(config));
const orm = await openOrm(database.url);
try {
  await migrate(orm);
  for (const projection of chosen) {
    const started = Date.now();
    await resetProjection(orm, projection);
    await catchUp(orm, projection);
    console.log(`rebuilt ${projection.name} in ${Date.now() - started} ms`);
  }
} finally {
  await orm.close();
  await database.close();
}
