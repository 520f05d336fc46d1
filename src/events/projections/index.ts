import { campaignsProjection } from './campaigns.ts';
import { devicesProjection } from './devices.ts';
import { messagesProjection } from './messages.ts';
import type { Projection } from './projection.ts';

// Every projection the runner keeps up to date. The webhook-deliveries projection joins with the webhooks.
export const projections: Projection[] = [messagesProjection, devicesProjection, campaignsProjection];
