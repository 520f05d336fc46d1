import { ApiKeySchema } from './api-key.ts';
import { AuthSessionSchema } from './auth-session.ts';
import { LoginTokenSchema } from './login-token.ts';
import { UserSchema } from './user.ts';

export const entities = [UserSchema, AuthSessionSchema, LoginTokenSchema, ApiKeySchema];
