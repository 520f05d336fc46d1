// Statements written with `?` placeholders become PostgreSQL's `$n` bind parameters: values travel beside the
// statement and are never spelled into its text (MikroORM's own `execute` inlines them, escaped). An array
// stands for a list (`in (?)`, `array[?]`), one parameter per element, as it did when inlined.

export interface BoundStatement {
  sql: string;
  parameters: unknown[];
}

const asParameter = (value: unknown) => (value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? value.toString() : value);

export function bindParameters(query: string, params: readonly unknown[]): BoundStatement {
  const parameters: unknown[] = [];
  let used = 0;
  // `\?` is a literal question mark (a jsonb operator); `??` (MikroORM's identifier placeholder) is refused:
  // names come from the statement's own fixed list, never from a value.
  const sql = query.replace(/\\\?|\?\?|\?/g, (token) => {
    if (token === '\\?') return '?';
    if (token === '??') throw new Error('bindParameters: identifiers are not parameters; spell them in the statement');
    if (used >= params.length) throw new Error(`bindParameters: the statement has more placeholders than its ${params.length} parameters`);
    const value = params[used++];
    return (Array.isArray(value) ? value : [value]).map((v) => `$${parameters.push(asParameter(v))}`).join(', ');
  });
  if (used !== params.length) throw new Error(`bindParameters: ${params.length} parameters for ${used} placeholders`);
  return { sql, parameters };
}

// A name spelled into a statement must come from the statement's own fixed list; anything else is a bug, refused.
export function quotedName(name: string, allowed: readonly string[]): string {
  if (!allowed.includes(name)) throw new Error(`quotedName: ${JSON.stringify(name)} is not one of ${allowed.join(', ')}`);
  return `"${name}"`;
}
