import { Type, type TSchema } from 'typebox';

// The two envelopes of every answer: `{success: true, data}` and `{success: false, error, code, details?}`.
export const ErrorResponse = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String(),
    code: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorResponse', description: 'Every failure: a sentence, a stable code, and details where there are some' },
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

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.Integer({ minimum: 0, description: 'The `nextCursor` of the previous page' })),
});

export function page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.Integer(), Type.Null()]) });
}
