import assert from 'node:assert/strict';
import { sqlOf } from '../../src/events/event-store.ts';
import { bearer, type TestPlatform } from '../helpers/platform.ts';
import type { LinkedDevice } from '../helpers/whatsapp.ts';

// What the send policy's journeys share: the platform with the policy on and quick to look again, and the calls they
// make of it as the linked user.

export const POLICY_ON = { SEND_POLICY: 'on', SEND_POLICY_RECHECK: '300ms', SEND_MIN_INTERVAL: '1ms' };

export function policyCalls(linked: () => { platform: TestPlatform; user: { token: string } }) {
  const call = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    linked().platform.request({ method, url, headers: bearer(linked().user.token), ...(payload ? { payload } : {}) });
  const sql = () => sqlOf(linked().platform.app.orm.em.fork());
  return {
    call,
    sql,
    async policyOf(device: LinkedDevice) {
      const res = await call('GET', `/api/whatsapp/devices/${device.id}/send-policy`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data;
    },
    async deviceEvents(device: LinkedDevice, type: string) {
      const rows = await sql()(`select data from events where stream_id = ? and type = ? order by global_position`, [`device-${device.id}`, type]);
      return rows.map((r) => r.data as Record<string, unknown>);
    },
  };
}
