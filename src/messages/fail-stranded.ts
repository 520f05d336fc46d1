import type { EntityManager } from '@mikro-orm/postgresql';
import { streamOf } from '../domain/events.ts';
import { eventIdOf } from '../events/event-ids.ts';
import { appendToStream, sqlOf } from '../events/event-store.ts';

export const LOGGED_OUT = 'the device was logged out';

// Messages no worker will send: their device was logged out (they fail at once) or stopped for longer than a
// message may wait (SEND_MAX_WAIT). A running device's messages are the send worker's to judge.
export async function failStrandedMessages(
  em: EntityManager,
  options: { now: Date; maxWaitMs: number; deviceId?: number; reason?: string },
): Promise<number> {
  const waitedSince = new Date(options.now.getTime() - options.maxWaitMs);
  const rows = await sqlOf(em)(
    `select ms.message_id, ms.tenant_id, ms.device_id, ms.queued_at, d.session_id, d.status as device_status
       from message_status ms join devices d on d.id = ms.device_id
      where ms.status = 'queued' and ms.direction = 'out' and d.desired_state = 'stopped'
        and (d.status = 'logged_out' or ms.queued_at <= ?) ${options.deviceId === undefined ? '' : 'and d.id = ?'}
      order by ms.queued_at limit 1000`,
    options.deviceId === undefined ? [waitedSince] : [waitedSince, options.deviceId],
  );
  for (const row of rows) {
    const messageId = String(row.message_id);
    const reason = options.reason ?? (row.device_status === 'logged_out' ? LOGGED_OUT : 'the session stayed stopped too long');
    await appendToStream(
      em,
      streamOf.message(messageId),
      [{ event: { type: 'message.failed', data: { messageId, code: 'DEVICE_NOT_CONNECTED', reason } }, eventId: eventIdOf(`${messageId}:stranded:${String(row.queued_at)}`) }],
      { expectedVersion: 'any', metadata: { tenantId: Number(row.tenant_id), deviceId: Number(row.device_id), sessionId: String(row.session_id) } },
    );
  }
  return rows.length;
}
