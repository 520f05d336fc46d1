// AI auto-replies: what a device's settings and a chat's state decide about a message, without I/O. The reactor
// (src/ai/reactor.ts) applies these decisions in log order; the reply job (src/ai/reply-job.ts) asks the model.

export type AiTrigger =
  | { type: 'all' }
  | { type: 'keyword'; operator: 'equals' | 'contains' | 'startsWith' | 'endsWith'; keywords: string[] }
  | { type: 'regex'; pattern: string; flags?: string };

// A device's settings: seed 004's (aiEnabled … customRules) and what users of bots rely on besides.
export interface AiDeviceSettings {
  aiEnabled: boolean;
  autoReply: boolean;
  provider: string | null;
  model: string | null;
  temperature: number;
  maxTokens: number;
  customRules: string[];
  // What opens a conversation; once open, every message of the chat goes to the model until it closes.
  trigger: AiTrigger;
  ignoreGroups: boolean;
  // Chats never answered: exact JIDs, or `@g.us` (every group) and `@s.whatsapp.net` (every person).
  ignoreJids: string[];
  // A burst of messages from one chat is joined into one prompt: each new one waits this long for the next.
  debounceSeconds: number;
  // A person writing in the chat (on the phone, or through the API) pauses the bot there this long.
  takeoverPauseMinutes: number;
  // The contact writing this (alone) ends the conversation; null: none.
  endKeyword: string | null;
  // A conversation idle this long is closed; the next message starts a fresh one (0: never).
  idleExpiryMinutes: number;
  // Earlier messages of the conversation the model sees.
  memoryMessages: number;
  typing: boolean;
  // A reply with blank lines goes out as several messages.
  splitReplies: boolean;
  // Answered to what the bot cannot read (media without a caption, a location…); null: such messages are ignored.
  unknownMessageText: string | null;
  // Replies per chat per hour; past it the chat pauses for the rest of the hour (stops loops between bots).
  maxRepliesPerHour: number;
}

export const DEFAULT_DEVICE_SETTINGS: AiDeviceSettings = {
  aiEnabled: false,
  autoReply: false,
  provider: null,
  model: null,
  temperature: 0.7,
  maxTokens: 1000,
  customRules: [],
  trigger: { type: 'all' },
  ignoreGroups: true,
  ignoreJids: [],
  debounceSeconds: 5,
  takeoverPauseMinutes: 60,
  endKeyword: null,
  idleExpiryMinutes: 24 * 60,
  memoryMessages: 10,
  typing: true,
  splitReplies: true,
  unknownMessageText: null,
  maxRepliesPerHour: 20,
};

// A chat's own settings (seed 004); absent ones follow the device's.
export interface AiChatSettings {
  aiEnabled?: boolean;
  autoReply?: boolean;
  memoryEnabled?: boolean;
  customRules?: string[];
}

export type ConversationStatus = 'open' | 'paused' | 'closed';

// Messages joined for one reply: `id` is its first message's, `lastId` names the job that answers it (each message
// schedules a job `debounceSeconds` after it; all but the latest find themselves superseded).
export interface Burst {
  id: string;
  messageIds: string[];
  lastId: string;
  lastAt: string;
  // Taken up by its reply job: later messages start a new burst.
  taken: boolean;
}

export interface AiChatState {
  status: ConversationStatus;
  // Paused: until then (null: until resumed).
  pausedUntil: Date | null;
  memorySince: Date | null;
  lastActivityAt: Date | null;
  burst: Burst | null;
  // When the replies of the last hour were queued (ISO 8601), for the per-chat cap.
  replies: string[];
}

export const NEW_CHAT: AiChatState = { status: 'closed', pausedUntil: null, memorySince: null, lastActivityAt: null, burst: null, replies: [] };

const HOUR_MS = 3_600_000;

export function isActive(settings: AiDeviceSettings, chat: AiChatSettings): boolean {
  return (chat.aiEnabled ?? settings.aiEnabled) && (chat.autoReply ?? settings.autoReply);
}

export function isIgnoredChat(settings: AiDeviceSettings, chatJid: string): boolean {
  if (!chatJid.endsWith('@s.whatsapp.net') && !chatJid.endsWith('@lid') && !chatJid.endsWith('@g.us')) return true;
  if (settings.ignoreGroups && chatJid.endsWith('@g.us')) return true;
  return settings.ignoreJids.some((jid) => jid === chatJid || (jid.startsWith('@') && chatJid.endsWith(jid)));
}

// Message kinds the bot reads as text (a caption stands for its media); reactions and protocol traffic are never
// messages to answer, not even with the unknown-message text.
const NEVER_ANSWERED = new Set(['reactionMessage', 'protocolMessage', 'senderKeyDistributionMessage', 'pollUpdateMessage', 'editedMessage', 'keepInChatMessage']);

export function readableText(messageType: string, text: string | undefined): string | undefined | null {
  if (NEVER_ANSWERED.has(messageType)) return null;
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}

const fold = (text: string) => text.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase().trim();

export function matchesTrigger(trigger: AiTrigger, text: string): boolean {
  switch (trigger.type) {
    case 'all':
      return true;
    case 'regex':
      return new RegExp(trigger.pattern, trigger.flags ?? 'i').test(text);
    case 'keyword': {
      const said = fold(text);
      return trigger.keywords.some((keyword) => {
        const word = fold(keyword);
        if (trigger.operator === 'equals') return said === word;
        if (trigger.operator === 'startsWith') return said.startsWith(word);
        if (trigger.operator === 'endsWith') return said.endsWith(word);
        return said.includes(word);
      });
    }
  }
}

// A trigger's regex is checked when it is set, so the reactor never meets one that does not compile.
export function triggerProblem(trigger: AiTrigger): string | undefined {
  if (trigger.type !== 'regex') return undefined;
  try {
    new RegExp(trigger.pattern, trigger.flags ?? 'i');
    return undefined;
  } catch (err) {
    return `trigger.pattern is not a valid regular expression: ${(err as Error).message}`;
  }
}

export type ChatChange =
  | { type: 'ai.resumed'; reason: 'pause-ended' | 'owner-command' | 'api' }
  | { type: 'ai.closed'; reason: 'end-keyword' | 'idle' | 'api' }
  | { type: 'ai.paused'; reason: 'human-takeover' | 'owner-command' | 'reply-cap' | 'api'; until?: string }
  | { type: 'ai.memory-cleared' };

export interface InboundMessage {
  messageId: string;
  messageType: string;
  text: string | undefined;
  at: Date;
}

export interface InboundDecision {
  state: AiChatState;
  // What to record about the conversation, in order.
  changes: ChatChange[];
  // `reply`: the burst now ends with this message (its job waits out the debounce window); `unknown`: answer with the fixed text.
  action: { type: 'ignore'; reason: string } | { type: 'reply'; burst: Burst } | { type: 'unknown' };
}

function pauseEnded(state: AiChatState, now: Date): boolean {
  return state.status === 'paused' && state.pausedUntil !== null && state.pausedUntil <= now;
}

// What a contact's message does to the chat: pauses that ended and idle conversations close first, then the end
// keyword, the trigger and the hourly cap decide, and an answerable message joins the chat's burst.
export function decideInbound(settings: AiDeviceSettings, state: AiChatState, message: InboundMessage, now: Date): InboundDecision {
  const changes: ChatChange[] = [];
  let next: AiChatState = { ...state, replies: state.replies.filter((at) => Date.parse(at) > now.getTime() - HOUR_MS) };
  const ignore = (reason: string): InboundDecision => ({ state: next, changes, action: { type: 'ignore', reason } });
  const text = readableText(message.messageType, message.text);
  if (text === null) return ignore('not a message to answer');

  if (pauseEnded(next, now)) {
    changes.push({ type: 'ai.resumed', reason: 'pause-ended' });
    next = { ...next, status: 'open', pausedUntil: null };
  }
  if (next.status === 'paused') return ignore('the conversation is paused');
  const idle = settings.idleExpiryMinutes > 0 && next.lastActivityAt !== null && now.getTime() - next.lastActivityAt.getTime() > settings.idleExpiryMinutes * 60_000;
  if (next.status === 'open' && idle) {
    changes.push({ type: 'ai.closed', reason: 'idle' });
    next = { ...next, status: 'closed', burst: null };
  }
  if (text !== undefined && settings.endKeyword && fold(text) === fold(settings.endKeyword)) {
    if (next.status === 'open') changes.push({ type: 'ai.closed', reason: 'end-keyword' });
    next = { ...next, status: 'closed', burst: null, lastActivityAt: message.at };
    return ignore('the end keyword closed the conversation');
  }
  if (next.status === 'closed') {
    if (text === undefined || !matchesTrigger(settings.trigger, text)) return ignore('no trigger matched');
    next = { ...next, status: 'open', memorySince: message.at };
  }
  next = { ...next, lastActivityAt: message.at };
  if (next.replies.length >= settings.maxRepliesPerHour) {
    const until = new Date(Date.parse(next.replies[0]!) + HOUR_MS).toISOString();
    changes.push({ type: 'ai.paused', reason: 'reply-cap', until });
    next = { ...next, status: 'paused', pausedUntil: new Date(until), burst: null };
    return ignore('the hourly reply cap was reached');
  }
  if (text === undefined) {
    if (!settings.unknownMessageText) return ignore('nothing readable in the message');
    return { state: next, changes, action: { type: 'unknown' } };
  }
  // A burst takes every message until its reply job takes it up: the window is the job's delay from the latest
  // message, and a message that comes later, while the job still waits its turn, is answered in the same reply.
  const current = next.burst;
  const joins = current !== null && !current.taken;
  const burst: Burst = joins
    ? { ...current, messageIds: [...current.messageIds, message.messageId], lastId: message.messageId, lastAt: message.at.toISOString() }
    : { id: message.messageId, messageIds: [message.messageId], lastId: message.messageId, lastAt: message.at.toISOString(), taken: false };
  next = { ...next, burst };
  return { state: next, changes, action: { type: 'reply', burst } };
}

export type OwnerCommand = 'on' | 'off';

export function ownerCommandOf(text: string | undefined): OwnerCommand | undefined {
  const match = text?.trim().toLowerCase().match(/^\/bot\s+(on|off)$/);
  return match ? (match[1] as OwnerCommand) : undefined;
}

// A person writing in the chat: `/bot off` pauses until `/bot on`; anything else pauses for the takeover time (a
// longer pause already running stays). The burst waiting for a reply is dropped: the person answers it.
export function decideOwnerMessage(settings: AiDeviceSettings, state: AiChatState, text: string | undefined, now: Date): { state: AiChatState; changes: ChatChange[] } {
  const command = ownerCommandOf(text);
  if (command === 'on') {
    if (state.status !== 'paused') return { state, changes: [] };
    return { state: { ...state, status: 'open', pausedUntil: null, lastActivityAt: now }, changes: [{ type: 'ai.resumed', reason: 'owner-command' }] };
  }
  if (command === 'off') {
    if (state.status === 'paused' && state.pausedUntil === null) return { state, changes: [] };
    return { state: { ...state, status: 'paused', pausedUntil: null, burst: null }, changes: [{ type: 'ai.paused', reason: 'owner-command' }] };
  }
  if (settings.takeoverPauseMinutes <= 0) return { state, changes: [] };
  const until = new Date(now.getTime() + settings.takeoverPauseMinutes * 60_000);
  if (state.status === 'paused' && (state.pausedUntil === null || state.pausedUntil >= until)) return { state: { ...state, burst: null }, changes: [] };
  return { state: { ...state, status: 'paused', pausedUntil: until, burst: null }, changes: [{ type: 'ai.paused', reason: 'human-takeover', until: until.toISOString() }] };
}

// The model's answer as the messages that carry it: paragraphs when splitting (at most `maxParts`, the rest kept
// in the last), and never a message over WhatsApp's length.
export function replyParts(text: string, split: boolean, maxLength = 4096, maxParts = 5): string[] {
  const trimmed = text.trim();
  const paragraphs = split ? trimmed.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean) : [trimmed];
  const joined = paragraphs.length > maxParts ? [...paragraphs.slice(0, maxParts - 1), paragraphs.slice(maxParts - 1).join('\n\n')] : paragraphs;
  return joined.flatMap((part) => {
    const pieces: string[] = [];
    for (let rest = part; rest.length; ) {
      if (rest.length <= maxLength) {
        pieces.push(rest);
        break;
      }
      const cut = Math.max(rest.lastIndexOf(' ', maxLength), Math.floor(maxLength / 2));
      pieces.push(rest.slice(0, cut).trimEnd());
      rest = rest.slice(cut).trimStart();
    }
    return pieces;
  });
}

export interface MemoryMessage {
  direction: 'in' | 'out';
  text: string;
}

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

// The conversation as the model reads it: earlier messages (oldest first), then the burst as one user turn;
// consecutive messages of one side are joined, since providers expect the roles to alternate.
export function promptTurns(memory: MemoryMessage[], burst: string[]): Turn[] {
  const turns: Turn[] = [];
  const push = (role: Turn['role'], content: string) => {
    const last = turns.at(-1);
    if (last?.role === role) last.content = `${last.content}\n${content}`;
    else turns.push({ role, content });
  };
  for (const message of memory) push(message.direction === 'in' ? 'user' : 'assistant', message.text);
  push('user', burst.join('\n'));
  // A conversation the model sees must start with the user (Anthropic refuses one that starts with the assistant).
  while (turns[0]?.role === 'assistant') turns.shift();
  return turns;
}

export function systemPrompt(deviceRules: string[], chatRules: string[]): string {
  const rules = [...deviceRules, ...chatRules].map((rule) => `- ${rule}`);
  return [
    'You are answering WhatsApp messages on behalf of the owner of this number. Reply in the language of the conversation, briefly, as plain text (no Markdown headings or tables).',
    ...(rules.length ? ['Follow these rules:', ...rules] : []),
  ].join('\n');
}
