import { AppError } from '../domain/errors.ts';

// Cursors of newest-first pages ordered by (a time, an id): the cursor is where the previous page ended, opaque
// to clients (base64url of the pair).

export const encodeCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

export function decodeCursor(cursor: string | undefined): [string, string] | undefined {
  if (!cursor) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string];
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at))) return [at, id];
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('VALIDATION_ERROR', 'cursor is not one this API handed out');
}
