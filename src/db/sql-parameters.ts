// Statements written with `?` placeholders become PostgreSQL's `$n` bind parameters: values travel beside the
// statement and are never spelled into its text (MikroORM's own `execute` would inline them, escaped). An array
// stands for a list (`in (?)`, `array[?]`), one parameter per element, as it did when inlined.

export interface BoundStatement {
  sql: string;
  parameters: unknown[];
}

// How a value becomes the placeholders that stand for it (`add` appends one parameter and answers its `$n`), and
// how an identifier placeholder (`??`) is spelled, if the statements of a caller may hold one.
export interface BindRules {
  value(value: unknown, add: (parameter: unknown) => string, rules: BindRules): string;
  identifier?(name: unknown): string;
}

const plainParameter = (value: unknown) => (value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? value.toString() : value);

// Our own statements (sqlOf): names come from the statement's own fixed list, never from a value, so `??` is refused.
export const PLAIN_RULES: BindRules = {
  value: (value, add) => (Array.isArray(value) ? value : [value]).map((v) => add(plainParameter(v))).join(', '),
};

// Replaces the placeholders of `query` with what `rules` makes of each of `params`, adding to the same list (so
// that a value may itself be a statement fragment with parameters of its own).
export function bindInto(query: string, params: readonly unknown[], rules: BindRules, add: (parameter: unknown) => string): string {
  let used = 0;
  // `\?` is a literal question mark (a jsonb operator).
  const sql = query.replace(/\\\?|\?\?|\?/g, (token) => {
    if (token === '\\?') return '?';
    if (used >= params.length) throw new Error(`bindParameters: the statement has more placeholders than its ${params.length} parameters`);
    const value = params[used++];
    if (token === '??') {
      if (!rules.identifier) throw new Error('bindParameters: identifiers are not parameters; spell them in the statement');
      return rules.identifier(value);
    }
    return rules.value(value, add, rules);
  });
  if (used !== params.length) throw new Error(`bindParameters: ${params.length} parameters for ${used} placeholders`);
  return sql;
}

// PostgreSQL's wire protocol counts a statement's parameters in 16 bits.
const MAX_PARAMETERS = 65_535;

export function bindParameters(query: string, params: readonly unknown[], rules: BindRules = PLAIN_RULES): BoundStatement {
  const parameters: unknown[] = [];
  const sql = bindInto(query, params, rules, (parameter) => `$${parameters.push(parameter)}`);
  if (parameters.length > MAX_PARAMETERS) throw new Error(`bindParameters: ${parameters.length} parameters, more than PostgreSQL takes in one statement`);
  return { sql, parameters };
}

// A name spelled into a statement must come from the statement's own fixed list; anything else is a bug, refused.
export function quotedName(name: string, allowed: readonly string[]): string {
  if (!allowed.includes(name)) throw new Error(`quotedName: ${JSON.stringify(name)} is not one of ${allowed.join(', ')}`);
  return `"${name}"`;
}
