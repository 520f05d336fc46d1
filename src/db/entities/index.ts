import { ApiKeySchema } from './api-key.ts';
import { AuthSessionSchema } from './auth-session.ts';
import { CampaignSchema } from './campaign.ts';
import { DeviceSchema } from './device.ts';
import { LoginTokenSchema } from './login-token.ts';
import { MessageStatsSchema } from './message-stats.ts';
import { MessageStatusSchema } from './message-status.ts';
import { SessionCredsSchema, SessionKeySchema } from './session-auth.ts';
import { UserSchema } from './user.ts';

export const entities = [UserSchema, AuthSessionSchema, LoginTokenSchema, ApiKeySchema, MessageStatusSchema, MessageStatsSchema, DeviceSchema, SessionCredsSchema, SessionKeySchema, CampaignSchema];
