import { campaignsProjection } from './campaigns.ts';
import { contactsProjection } from './contacts.ts';
import { devicesProjection } from './devices.ts';
import { lidMappingsProjection } from './lid-mappings.ts';
import { messagesProjection } from './messages.ts';
import type { Projection } from './projection.ts';
import { webhookDeliveriesProjection } from './webhook-deliveries.ts';

// Every projection the runner keeps up to date.
export const projections: Projection[] = [messagesProjection, devicesProjection, campaignsProjection, contactsProjection, lidMappingsProjection, webhookDeliveriesProjection];
