import { ApiKeySchema } from './api-key.ts';
import { AuthSessionSchema } from './auth-session.ts';
import { CampaignSchema } from './campaign.ts';
import { ContactSchema } from './contact.ts';
import { DeviceSchema } from './device.ts';
import { LidMappingSchema } from './lid-mapping.ts';
import { LoginBotSchema } from './login-bot.ts';
import { LoginTokenSchema } from './login-token.ts';
import { MessageStatsSchema } from './message-stats.ts';
import { MessageStatusSchema } from './message-status.ts';
import { SessionCredsSchema, SessionKeySchema } from './session-auth.ts';
import { UserSchema } from './user.ts';
import { WebhookAttemptSchema, WebhookDeliverySchema } from './webhook-delivery.ts';
import { WebhookEndpointSchema } from './webhook-endpoint.ts';

export const entities = [UserSchema, AuthSessionSchema, LoginTokenSchema, ApiKeySchema, MessageStatusSchema, MessageStatsSchema, DeviceSchema, SessionCredsSchema, SessionKeySchema, CampaignSchema, ContactSchema, LidMappingSchema, WebhookEndpointSchema, WebhookDeliverySchema, WebhookAttemptSchema, LoginBotSchema];
