import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JidWithDevice } from '@whiskeysockets/baileys';
import { createLogger } from '../../src/logger.ts';
import { sharedDeviceLists } from '../../src/workers/sessions/device-lists.ts';
import { openTestCoordination, type CoordinationKind, type Instance } from '../helpers/coordination.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { createTestResources, type TestResources } from '../helpers/resources.ts';

// Baileys' device-list cache as the session host gives it (src/workers/sessions/device-lists.ts), in both coordination
// stores: what one holder of a session learnt, the next one (another process) reads, per device.
const logger = createLogger({ logLevel: 'silent' });
const contact: JidWithDevice[] = [{ user: '6281700000002', server: 's.whatsapp.net', device: 0 } as JidWithDevice];

for (const kind of ['redis', 'postgres'] as const satisfies CoordinationKind[]) {
  describe(`device lists on ${kind}`, () => {
    const resources: TestResources = createTestResources('devlists');
    let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
    let oldHolder: Instance;
    let newHolder: Instance;
    before(async () => {
      if (kind === 'postgres') database = await openTestDatabase(resources);
      [oldHolder, newHolder] = await Promise.all([openTestCoordination(resources, kind), openTestCoordination(resources, kind)]);
    });
    after(async () => {
      await Promise.all([oldHolder?.close(), newHolder?.close()]);
      await database?.close();
      await resources.cleanup();
    });

    test('a list one holder stored is the next holder’s, as Baileys reads it; another device’s is its own', async () => {
      await sharedDeviceLists(oldHolder.coordination, 1, logger).mset!([{ key: '6281700000002', value: contact }]);
      const next = sharedDeviceLists(newHolder.coordination, 1, logger);
      assert.deepEqual(await next.mget!(['6281700000002', '6281700000003']), { '6281700000002': contact, '6281700000003': undefined });
      assert.deepEqual(await next.get('6281700000002'), contact);
      assert.equal(await sharedDeviceLists(newHolder.coordination, 2, logger).get('6281700000002'), undefined);
    });

    test('a list Baileys drops (its device notification said it changed) is gone for the next holder too', async () => {
      await sharedDeviceLists(oldHolder.coordination, 3, logger).set('6281700000002', contact);
      await sharedDeviceLists(oldHolder.coordination, 3, logger).del('6281700000002');
      assert.equal(await sharedDeviceLists(newHolder.coordination, 3, logger).get('6281700000002'), undefined);
    });

    test('the holder asks the store once for a list it read or wrote, and again for one it dropped', async () => {
      const user = '6281700000002';
      await sharedDeviceLists(oldHolder.coordination, 5, logger).set(user, contact);
      let reads = 0;
      const counted = { ...newHolder.coordination, get: (key: string) => (reads++, newHolder.coordination.get(key)) };
      const holder = sharedDeviceLists(counted, 5, logger);
      for (let i = 0; i < 3; i++) assert.deepEqual(await holder.get(user), contact);
      assert.equal(reads, 1, 'read once, then from memory');
      await holder.set('6281700000004', contact);
      assert.deepEqual(await holder.get('6281700000004'), contact);
      assert.equal(reads, 1, 'what it wrote is not read back');
      await holder.del(user);
      assert.equal(await holder.get(user), undefined);
      assert.equal(reads, 2, 'a dropped list is asked for again');
    });

    test('it lives as long as Baileys keeps it in memory (5 minutes)', async () => {
      await sharedDeviceLists(oldHolder.coordination, 4, logger).set('6281700000002', contact);
      const ttl = await newHolder.coordination.ttl('device-list:4:6281700000002');
      assert.ok(ttl > 290_000 && ttl <= 300_000, `ttl ${ttl} ms`);
    });
  });
}
