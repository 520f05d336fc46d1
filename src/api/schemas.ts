import { Type, type Static, type TInteger, type TNumber, type TSchema, type TString } from 'typebox';

// The two envelopes of every answer: `{success: true, data}` and `{success: false, error, message, code, details?}`.
export const ErrorResponse = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String({ description: 'What went wrong, in a sentence (seed 004)' }),
    message: Type.String({ description: 'The same for a person, with what to act on: the fields at fault, when to try again (seed 003)' }),
    code: Type.String({ description: 'A stable code to branch on (VALIDATION_ERROR, DEVICE_NOT_FOUND, …)' }),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorResponse', description: 'Every failure: a sentence, a human explanation, a stable code, and details where there are some' },
);

export function ok<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data });
}

export const Success = Type.Object({ success: Type.Literal(true) });

// Response schemas for the error statuses a route can answer with.
export function errors(...statuses: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponse]));
}

export const IsoDate = Type.String({ format: 'date-time' });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
// For request bodies where null clears a value: one `type` naming both, so AJV's coercion leaves null and every value
// of the type as they are. Under an anyOf it would coerce one into the other: null into 0 or '' when null comes last
// (a cleared limit becoming a limit of 0), 0 and '' into null when it comes first (a limit of 0 cleared).
export const Clearable = <T extends TString | TNumber | TInteger>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.Integer({ minimum: 0, description: 'The `nextCursor` of the previous page' })),
});

// Keyset pages: `cursor` is the opaque `nextCursor` of the page before.
export const Paging = {
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: 'The `nextCursor` of the previous page' })),
};

export function page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.Integer(), Type.Null()]) });
}

// Seed 004's `userId`: the integrator's own identifier for a user (our username), used verbatim in session ids.
export const UserKey = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._@-]+$',
  description: 'Your identifier for the user (letters, digits, . _ @ -); an administrator naming a new one provisions it',
});

export const UserParams = Type.Object({ userId: UserKey });
