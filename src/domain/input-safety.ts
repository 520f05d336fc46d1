// What no input may hold, whatever its schema says: PostgreSQL refuses a NUL in text and jsonb and an unpaired
// UTF-16 surrogate in anything it stores as UTF-8, and a value nested without bound exhausts the stack of the
// first recursive reader (the ORM's JSON handling, the event log's serializer). Numbers must be finite: `1e400`
// parses to Infinity, and a query string's coerces to it past every `maximum` (ajv skips bounds on non-finite).

// Deeper than any document the API takes (device metadata, campaign variables, webhook payload templates).
export const MAX_INPUT_DEPTH = 32;
// Enough to name every fault a client should fix at once, bounded so a hostile body cannot make the answer big.
const MAX_ISSUES = 20;

export interface InputIssue {
  field: string;
  message: string;
}

export function textIssue(text: string): string | undefined {
  if (text.includes('\0')) return 'must not contain a NUL character (\\u0000)';
  if (!text.isWellFormed()) return 'must not contain an unpaired UTF-16 surrogate';
  return undefined;
}

// Every fault in `value` (strings, numbers, and the keys of objects, at any depth), each named by its path from `root`
// (`body.metadata.a`, `query.search`), in the `{field, message}` shape of validation errors.
export function inputIssues(value: unknown, root: string): InputIssue[] {
  const issues: InputIssue[] = [];
  const visit = (node: unknown, field: string, depth: number) => {
    if (issues.length >= MAX_ISSUES) return;
    if (typeof node === 'string') {
      const message = textIssue(node);
      if (message) issues.push({ field, message });
      return;
    }
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) issues.push({ field, message: 'must be a finite number' });
      return;
    }
    if (typeof node !== 'object' || node === null || Buffer.isBuffer(node)) return;
    if (depth >= MAX_INPUT_DEPTH) {
      issues.push({ field, message: `must not nest deeper than ${MAX_INPUT_DEPTH} levels` });
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      const message = textIssue(key);
      // A faulty key is named escaped, so the answer does not carry the fault back.
      const path = `${field}.${message ? JSON.stringify(key) : key}`;
      if (message) issues.push({ field: path, message: `(as a key) ${message}` });
      visit(child, path, depth + 1);
    }
  };
  visit(value, root, 0);
  return issues;
}
