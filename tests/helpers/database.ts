import { loadConfig } from '../../src/config.ts';
import { openOrm, type Orm } from '../../src/db/orm.ts';
import { migrate } from '../../src/db/schema.ts';
import { createTestResources } from './resources.ts';

// A migrated database of its own, for tests of the persistence layer that need no HTTP app.
export async function openTestDatabase(): Promise<{ orm: Orm; close(): Promise<void> }> {
  const resources = createTestResources();
  const orm = await openOrm(loadConfig({ DATABASE_URL: resources.databaseUrl }));
  await migrate(orm);
  return {
    orm,
    close: async () => {
      await orm.close();
      await resources.cleanup();
    },
  };
}
