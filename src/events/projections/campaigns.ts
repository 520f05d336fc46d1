import type { Projection } from './projection.ts';

const STATE_OF: Record<string, string> = {
  'campaign.paused': 'paused',
  'campaign.resumed': 'running',
  'campaign.cancelled': 'cancelled',
  'campaign.completed': 'completed',
};

// Campaigns (bulk sends) and their state, from `campaign.*` events.
export const campaignsProjection: Projection = {
  name: 'campaigns',
  handles: ['campaign.*'],

  async apply(sql, events) {
    for (const event of events) {
      const campaignId = String(event.data.campaignId);
      if (event.type === 'campaign.created') {
        const { name, total, accepted, rejected } = event.data as { name?: string; total: number; accepted: number; rejected: unknown[] };
        await sql(
          `insert into campaigns (id, tenant_id, device_id, name, state, total, accepted, rejected, created_at)
           values (?, ?, ?, ?, 'running', ?, ?, ?::jsonb, ?) on conflict (id) do nothing`,
          [campaignId, event.metadata.tenantId!, event.metadata.deviceId!, name ?? null, total, accepted, JSON.stringify(rejected), event.recordedAt.toISOString()],
        );
        continue;
      }
      const state = STATE_OF[event.type];
      if (!state) continue;
      // Cancelled and completed are final; a late resume or pause changes neither.
      await sql(
        `update campaigns set state = ?, completed_at = case when ? in ('cancelled', 'completed') then ?::timestamptz else completed_at end
          where id = ? and state not in ('cancelled', 'completed')`,
        [state, state, event.recordedAt.toISOString(), campaignId],
      );
    }
  },

  async reset(sql) {
    await sql('delete from campaigns');
  },
};
