import type { Projection } from './projection.ts';

const STATUS_OF: Record<string, string> = {
  'device.qr-issued': 'pending',
  'device.pairing-code-issued': 'pending',
  'device.connecting': 'connecting',
  'device.connected': 'connected',
  'device.disconnected': 'disconnected',
  'device.logged-out': 'logged_out',
  'device.failed': 'error',
};

// A device's status, number and connection time, as its session host reported them (the devices table is
// otherwise written by the device API).
export const devicesProjection: Projection = {
  name: 'devices',
  handles: ['device.*'],

  async apply(sql, events) {
    for (const event of events) {
      const deviceId = event.metadata.deviceId;
      const status = STATUS_OF[event.type];
      if (deviceId === undefined || !status) continue;
      if (event.type === 'device.connected') {
        await sql('update devices set status = ?, phone_number = ?, lid = coalesce(?, lid), connected_at = ? where id = ?', [
          status,
          String(event.data.phoneNumber),
          typeof event.data.lid === 'string' ? event.data.lid : null,
          event.recordedAt.toISOString(),
          deviceId,
        ]);
      } else {
        // A socket that was still reconnecting when the device was logged out may report a reconnect or its close
        // afterwards: that does not make a logged-out device merely connecting or disconnected. A new QR, pairing
        // code or connection (a login after the logout) does move it on.
        await sql(`update devices set status = ? where id = ? and not (status = 'logged_out' and ? in ('connecting', 'disconnected'))`, [status, deviceId, status]);
      }
    }
  },

  async reset(sql) {
    await sql(`update devices set status = 'pending', phone_number = null, lid = null, connected_at = null`);
  },
};
