import type { Logger } from './logger.ts';
import { kindOf } from './log-safety.ts';

// libsignal prints to the console, outside pino and LOG_LEVEL, and what it prints is secret: on every session
// replacement `console.info("Closing session:", entry)` dumps the whole SessionEntry (root key, chain keys, the
// ratchet's private key), likewise "Opening session:" and "Removing old closed session:"; its warnings ("Closing
// open session in favor of incoming prekey bundle", "Session already closed", "Decrypted message with closed
// session.", "Unhandled bucket type (for naming):" with the bucket) and errors ("Failed to decrypt message with
// any known session...", "Session error:" with the stack, "V1 session storage migration error") are churn that
// Baileys reports itself. Baileys has two console calls of its own (a group's metadata that did not parse, a temp
// file that could not be deleted). Console calls from any installed package go to pino instead: the text, with
// every argument that is not a string or a number reduced to its kind (`[SessionEntry]`, `[Uint8Array 32 bytes]`),
// at debug for libsignal's churn and its warnings, warn for its errors. Our own code's console calls (the CLIs,
// tests) are left alone.

type Method = 'log' | 'info' | 'debug' | 'trace' | 'dir' | 'warn' | 'error';
type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const METHODS: readonly Method[] = ['log', 'info', 'debug', 'trace', 'dir', 'warn', 'error'];
const LEVELS: Record<Method, Level> = { log: 'debug', info: 'debug', debug: 'debug', trace: 'trace', dir: 'debug', warn: 'warn', error: 'error' };
// libsignal's warnings are session churn; its errors repeat what Baileys logs about the same message.
const LIBSIGNAL_LEVELS: Partial<Record<Method, Level>> = { warn: 'debug', error: 'warn' };
const MAX_STRING = 300;

const originals = new Map<Method, (...args: unknown[]) => void>();
// Platforms sharing the process (tests start several): the newest one still open gets the lines.
const holders: Logger[] = [];

// The installed package a console call came from, or undefined for our own code.
function callerPackage(skip: Function): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  Error.captureStackTrace(holder, skip);
  Error.stackTraceLimit = limit;
  const frame = holder.stack?.split('\n')[1] ?? '';
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame)?.[1];
}

function argText(arg: unknown): string {
  if (typeof arg === 'string') return arg.length > MAX_STRING ? `${arg.slice(0, MAX_STRING)}…` : arg;
  if (typeof arg === 'number' || typeof arg === 'boolean' || typeof arg === 'bigint' || arg === null || arg === undefined) return String(arg);
  if (arg instanceof Error) return `${arg.name}: ${argText(arg.message)}`;
  return kindOf(arg);
}

export function consoleLine(args: unknown[]): string {
  return args.map(argText).join(' ');
}

// Sends installed packages' console output to `logger` from now on; the returned function gives it back (the
// console is restored once every platform that captured it has given it back).
export function captureConsole(logger: Logger): () => void {
  const target = logger.child({ module: 'console' });
  holders.push(target);
  if (!originals.size) {
    for (const method of METHODS) {
      const original = console[method] as (...args: unknown[]) => void;
      originals.set(method, original);
      const captured = function (...args: unknown[]) {
        const source = callerPackage(captured);
        const current = holders.at(-1);
        if (!source || !current) return original.apply(console, args);
        const level = (source === 'libsignal' ? LIBSIGNAL_LEVELS[method] : undefined) ?? LEVELS[method];
        current[level]({ source }, consoleLine(args));
      };
      console[method] = captured;
    }
  }
  return () => {
    const at = holders.lastIndexOf(target);
    if (at >= 0) holders.splice(at, 1);
    if (holders.length) return;
    for (const [method, original] of originals) console[method] = original;
    originals.clear();
  };
}
