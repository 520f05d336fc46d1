// Domain events: immutable facts in the past tense, `{type, data}` with a version per type so payloads can
// evolve (a reader upcasts old versions). Pure types; nothing here does I/O.
import type { BotLoginOutcome } from './login-bot.ts';
import type { MessageContent, ReceivedMedia } from './messages.ts';

export interface MessageEventData {
  messageId: string;
}

export interface EventPayloads {
  'message.queued': MessageEventData & {
    // The recipient's JID.
    to: string;
    content: MessageContent;
    // Not before this time (ISO 8601); absent: at once.
    sendAt?: string;
    // Higher goes first among a session's waiting messages (one-time codes ahead of marketing).
    priority?: number;
    campaignId?: string;
    // The request's fingerprint, when it came with an idempotency key.
    fingerprint?: string;
    // Show "typing…" before it goes, for a time in proportion to its text (AI replies), whatever the session's setting.
    typing?: boolean;
    // Written by the platform itself rather than a person: an AI reply does not count as a human taking the chat over;
    // the send policy holds warmer messages with bulk ones.
    origin?: 'ai' | 'warmer';
  };
  // A media message's file converted, encrypted and uploaded to WhatsApp (`message`: the resulting WhatsApp message
  // content, protobuf in base64, with its media key), so that a later attempt relays this upload, not another.
  'message.media-uploaded': MessageEventData & { message: string; mimetype: string; size: number };
  // What the send policy counts: `day`, the policy's day it went on (in its time zone), and `firstContact`, the
  // chat's first message either way.
  'message.sent': MessageEventData & { waMessageId: string; day?: string; firstContact?: boolean };
  // The send policy keeps the message waiting (it stays queued): why, as a code and a sentence.
  'message.held': MessageEventData & { code: string; reason: string };
  // WhatsApp refused the message with an error ack (463: the number's reach-out time-lock on new contacts); it waits
  // and is tried again when the policy lets it go.
  'message.refused': MessageEventData & { code: string; reason: string };
  'message.delivered': MessageEventData;
  'message.read': MessageEventData;
  'message.played': MessageEventData;
  'message.failed': MessageEventData & { reason: string; code?: string };
  // Withdrawn before it was sent (its campaign was cancelled).
  'message.cancelled': MessageEventData & { reason: string };
  'message.received': MessageEventData & {
    waMessageId: string;
    // The chat: the sender's JID in a one-to-one chat, the group's JID in a group.
    chatJid: string;
    // The sender by phone number when known, and by LID when WhatsApp gave one.
    from: string;
    fromLid?: string;
    pushName?: string;
    messageType: string;
    text?: string;
    // Seconds since the epoch, as WhatsApp stamped it.
    timestamp: number;
    // A media message: what it holds, and the file its bytes will be stored as (a download job fetches them;
    // `message.media-stored` or `message.media-failed` tells how that went).
    media?: ReceivedMedia;
  };
  // A message the account wrote somewhere other than through us (typed on the phone, or in another linked device),
  // as WhatsApp copies it to every companion: the sign of a person taking the chat over (src/ai).
  'message.sent-by-owner': MessageEventData & { waMessageId: string; chatJid: string; messageType: string; text?: string; timestamp: number };
  // What a download needs of a received media message (the WhatsApp message, protobuf in base64, with its media
  // key); kept apart from `message.received`, which webhooks and streams carry, so the key goes nowhere.
  'message.media-received': MessageEventData & { message: string };
  'message.media-stored': MessageEventData & { fileId: string; size: number; sha256: string };
  // The media could not be had (WhatsApp no longer has it, or its bytes failed the check): the message stays, without its file.
  'message.media-failed': MessageEventData & { fileId: string; code: string; reason: string };
  // A person's details as WhatsApp told the session (stream `contacts-<deviceId>`): `jid` by phone number when
  // known, else the LID; names from the phone's address book (`name`) or the person's own (`pushName`).
  'contact.updated': { jid: string; lid?: string; name?: string; pushName?: string; verifiedName?: string; source: 'contact' | 'lookup' | 'group' };
  // A person's phone number and LID, learned together (a number lookup, a group's members, Baileys' own map).
  'contact.identified': { jid: string; lid: string; source: 'lookup' | 'group' };
  // A person's presence, reported by WhatsApp to a session that subscribed to it (`lastSeen`: Unix seconds).
  'contact.presence-updated': { jid: string; presence: string; lastSeen?: number };
  'campaign.created': {
    campaignId: string;
    name?: string;
    total: number;
    accepted: number;
    rejected: { index: number; phoneNumber: string; error: string }[];
  };
  'campaign.paused': { campaignId: string };
  'campaign.resumed': { campaignId: string };
  'campaign.cancelled': { campaignId: string; cancelledMessages: number };
  // How many of its messages are at each status now (sent as it moves, at most every few seconds).
  'campaign.progressed': { campaignId: string; counts: Record<string, number>; done: number; total: number };
  'campaign.completed': { campaignId: string; counts: Record<string, number> };
  'device.qr-issued': { qr: string };
  'device.pairing-code-issued': { code: string };
  'device.connecting': Record<string, never>;
  // `lid`: the account's LID (Baileys' `me.lid`), when WhatsApp gave it.
  'device.connected': { phoneNumber: string; name?: string; lid?: string };
  'device.disconnected': { reason: string; code?: number };
  'device.logged-out': { reason?: string };
  'device.failed': { message: string };
  // The send policy holds the number's messages (`scope`: `first-contacts` after a 463, `health` when its risk score
  // rose, `all` held by its owner), until `until` if it says, and lets them go again.
  'device.send-paused': { scope: 'first-contacts' | 'health' | 'all'; level?: 'paused' | 'stopped'; until?: string; reason: string };
  'device.send-resumed': { scope: 'first-contacts' | 'health' | 'all'; reason: string };
  // One try at delivering one event to one webhook endpoint (stream `webhook-delivery-<id>`).
  'webhook.attempted': {
    deliveryId: string;
    endpointId: string;
    eventId: string;
    eventPosition: number;
    eventType: string;
    // Counted from 1 across redeliveries.
    attempt: number;
    // `retrying` names the next try's time; `failed` means no more tries (a dead letter).
    outcome: 'delivered' | 'retrying' | 'failed';
    statusCode?: number;
    latencyMs: number;
    responseSnippet?: string;
    error?: string;
    nextAttemptAt?: string;
  };
  // Given up without a try: the endpoint was disabled or deleted meanwhile.
  'webhook.delivery-abandoned': { deliveryId: string; endpointId: string; eventId: string; eventPosition: number; eventType: string; reason: string };
  'webhook.redelivery-requested': { deliveryId: string; endpointId: string };
  'webhook.replay-requested': { endpointId: string; replayId: string; since: string; until?: string; events?: string[] };
  'webhook.endpoint-disabled': { endpointId: string; reason: string };
  'webhook.endpoint-enabled': { endpointId: string };
  // Someone wrote `/login` to the login bot (stream `bot-login-<sender>`), and what came of it. Never the token:
  // `messageId` names the reply that carries it. `requestedAt` is when the request was recorded; the rate limit
  // counts these, so reruns decide the same.
  'auth.bot-login-requested': {
    outcome: BotLoginOutcome;
    // `+digits`, when the sender's number is known (from the message or the LID map).
    number?: string;
    // The sender as WhatsApp named them.
    sender: string;
    requestedAt: string;
    inboundEventId: string;
    userId?: number;
    // Unix time in milliseconds, when a token was issued.
    expiresAt?: number;
    messageId?: string;
  };
  // The audit trail (stream `account-<username>` for an account's logins, sessions, credentials and changes;
  // `webhook-endpoint-<id>` for an endpoint's). Who did it, with which credential, from where, is in the
  // metadata (`actor`). Never a password, token or secret: ids and names only.
  // `at`: the platform's clock (ISO 8601), which the per-account login slowdown counts by.
  'auth.logged-in': { userId: number; username: string; method: 'password' | 'login-token' | 'basic'; at: string };
  // A password login refused: `unknown-user`, `wrong-password` and `disabled` are answered alike (401), `throttled`
  // (429) while the account's recent failures make it wait.
  'auth.login-failed': { username: string; method: 'password' | 'basic'; reason: 'unknown-user' | 'wrong-password' | 'disabled' | 'throttled'; at: string; userId?: number };
  'auth.session-refreshed': { userId: number; username: string };
  'auth.logged-out': { userId: number; username: string };
  'auth.api-token-created': { userId: number; keyId: number; name: string; expiresAt?: string };
  'auth.api-token-revoked': { userId: number; keyId: number };
  // A one-time login token, issued by an administrator or by the login bot (whose request is recorded beside it).
  'auth.login-token-issued': { userId: number; username: string; expiresAt: string };
  // A device's API key, made with the device.
  'auth.device-key-created': { userId: number; keyId: number; deviceId: number };
  // ADMIN_TOKEN was used (at most once a minute per process; changes it made carry `via: admin-token` themselves).
  'auth.admin-token-used': { method: string; route: string };
  // provisioned: made by an administrator's first device for it (seed 004's userId), with no password.
  'user.created': { userId: number; username: string; role: string; provisioned?: boolean };
  'user.role-changed': { userId: number; username: string; from: string; to: string };
  'user.password-set': { userId: number; username: string };
  'user.disabled': { userId: number; username: string };
  'user.enabled': { userId: number; username: string };
  'user.phone-number-changed': { userId: number; username: string; phoneNumber: string | null };
  'webhook.endpoint-created': { endpointId: string; userId: number; host: string; deviceId?: number };
  'webhook.endpoint-updated': { endpointId: string; fields: string[] };
  'webhook.endpoint-deleted': { endpointId: string };
  'webhook.secret-rotated': { endpointId: string };
  // A file stored for a user (stream `file-<id>`): uploaded through the API, fetched from a URL for a send, or
  // received in a chat. `sha256` (hex) addresses its bytes in storage.
  'file.uploaded': { fileId: string; userId: number; kind: string; mimetype: string; size: number; sha256: string; filename: string; source: 'upload' | 'url' | 'received' };
  'file.deleted': { fileId: string; userId: number };
  // AI auto-replies (stream `ai-chat-<deviceId>-<chat digest>`, one per chat of a device; src/ai). A burst of
  // messages (`messageIds`, joined by the debounce window) taken up for one reply.
  'ai.reply-requested': { chatJid: string; burstId: string; messageIds: string[]; provider: string; model: string };
  // The reply queued through the send pipeline (`replyMessageIds`: one per part when it was split).
  'ai.replied': {
    chatJid: string;
    burstId: string;
    replyMessageIds: string[];
    provider: string;
    model: string;
    inputTokens: number;
    outputTokens: number;
    cost: number;
    durationMs: number;
    attempts: number;
  };
  // No reply to the burst: the provider kept failing (AI_PROVIDER_ERROR), a cost limit was reached
  // (AI_COST_LIMIT_EXCEEDED), or the configuration names no usable model (INVALID_AI_CONFIG).
  'ai.failed': { chatJid: string; burstId: string; messageIds: string[]; code: string; reason: string; attempts: number };
  // `until` absent: until resumed. human-takeover: the owner wrote in the chat; owner-command: `/bot off`;
  // reply-cap: too many replies in an hour (a loop); api: through the chat's conversation status.
  'ai.paused': { chatJid: string; reason: 'human-takeover' | 'owner-command' | 'reply-cap' | 'api'; until?: string };
  'ai.resumed': { chatJid: string; reason: 'owner-command' | 'api' | 'pause-ended' };
  // The conversation ended (the contact wrote the end keyword, it was idle too long, or through the API); the next
  // message starts a new one, with a fresh memory.
  'ai.closed': { chatJid: string; reason: 'end-keyword' | 'idle' | 'api' };
  'ai.memory-cleared': { chatJid: string };
  // Spend reached a cost limit (stream `ai-cost-<user id or platform>`): replies stop until the period ends.
  'ai.cost-limit-reached': { scope: 'user' | 'platform'; userId?: number; period: 'daily' | 'monthly'; periodKey: string; threshold: number; current: number };
  // The warmer (stream `warmer-campaign-<id>`; src/warmer). `run` counts starts and resumes, and names the step jobs of
  // that run; `jobId` is the waiting step's job that a pause, stop or deletion takes off the queue.
  'warmer.campaign-created': { campaignId: number; name: string; deviceId: number; targetNumbers: string[] };
  'warmer.campaign-updated': { campaignId: number; fields: string[] };
  'warmer.campaign-deleted': { campaignId: number; jobId: string | null };
  'warmer.template-added': { campaignId: number; templateId: number; name: string };
  'warmer.started': { campaignId: number; run: number; nextAt: string | null };
  'warmer.paused': { campaignId: number; jobId: string | null };
  'warmer.resumed': { campaignId: number; run: number; nextAt: string };
  'warmer.stopped': { campaignId: number; jobId: string | null };
  // No slot is left before the end date.
  'warmer.completed': { campaignId: number };
  // One message of a conversation queued through the send pipeline (`from`, `to`: numbers), or not (`code`, `reason`).
  'warmer.step-sent': WarmerStepData & { messageId: string };
  'warmer.step-failed': WarmerStepData & { code: string; reason: string };
}

export interface WarmerStepData {
  campaignId: number;
  // The campaign's conversations counted from 0 (round-robin over its targets and scripts).
  conversationNo: number;
  day: number;
  slot: number;
  conversation: number;
  step: number;
  sender: 'bot' | 'user';
  script: string;
  fromDeviceId: number | null;
  from: string | null;
  to: string;
  text: string;
  // The conversation's first and last step the campaign sends.
  first: boolean;
  last: boolean;
}

export type EventType = keyof EventPayloads;

// The current version of each payload; bump it with an upcaster when a payload changes shape.
export const EVENT_VERSIONS: Record<EventType, number> = {
  'message.queued': 1,
  'message.media-uploaded': 1,
  'message.sent': 1,
  'message.delivered': 1,
  'message.read': 1,
  'message.played': 1,
  'message.failed': 1,
  'message.held': 1,
  'message.refused': 1,
  'message.cancelled': 1,
  'campaign.created': 1,
  'campaign.paused': 1,
  'campaign.resumed': 1,
  'campaign.cancelled': 1,
  'campaign.progressed': 1,
  'campaign.completed': 1,
  'message.received': 1,
  'message.media-received': 1,
  'message.media-stored': 1,
  'message.media-failed': 1,
  'contact.updated': 1,
  'contact.identified': 1,
  'contact.presence-updated': 1,
  'device.qr-issued': 1,
  'device.pairing-code-issued': 1,
  'device.connecting': 1,
  'device.connected': 1,
  'device.disconnected': 1,
  'device.logged-out': 1,
  'device.failed': 1,
  'device.send-paused': 1,
  'device.send-resumed': 1,
  'webhook.attempted': 1,
  'webhook.delivery-abandoned': 1,
  'webhook.redelivery-requested': 1,
  'webhook.replay-requested': 1,
  'webhook.endpoint-disabled': 1,
  'webhook.endpoint-enabled': 1,
  'auth.bot-login-requested': 1,
  'auth.logged-in': 1,
  'auth.login-failed': 1,
  'auth.session-refreshed': 1,
  'auth.logged-out': 1,
  'auth.api-token-created': 1,
  'auth.api-token-revoked': 1,
  'auth.login-token-issued': 1,
  'auth.device-key-created': 1,
  'auth.admin-token-used': 1,
  'user.created': 1,
  'user.role-changed': 1,
  'user.password-set': 1,
  'user.disabled': 1,
  'user.enabled': 1,
  'user.phone-number-changed': 1,
  'webhook.endpoint-created': 1,
  'webhook.endpoint-updated': 1,
  'webhook.endpoint-deleted': 1,
  'webhook.secret-rotated': 1,
  'file.uploaded': 1,
  'file.deleted': 1,
  'message.sent-by-owner': 1,
  'ai.reply-requested': 1,
  'ai.replied': 1,
  'ai.failed': 1,
  'ai.paused': 1,
  'ai.resumed': 1,
  'ai.closed': 1,
  'ai.memory-cleared': 1,
  'ai.cost-limit-reached': 1,
  'warmer.campaign-created': 1,
  'warmer.campaign-updated': 1,
  'warmer.campaign-deleted': 1,
  'warmer.template-added': 1,
  'warmer.started': 1,
  'warmer.paused': 1,
  'warmer.resumed': 1,
  'warmer.stopped': 1,
  'warmer.completed': 1,
  'warmer.step-sent': 1,
  'warmer.step-failed': 1,
};

export type DomainEvent = { [T in EventType]: { type: T; data: EventPayloads[T] } }[EventType];

// Worker bookkeeping that carries WhatsApp media keys: kept in the log for the jobs that need it, never shown to
// clients (SSE, WebSocket, event pages) or sent to webhook receivers.
export const INTERNAL_EVENT_TYPES: readonly EventType[] = ['message.media-received', 'message.media-uploaded'];

export function isInternalEvent(type: string): boolean {
  return (INTERNAL_EVENT_TYPES as readonly string[]).includes(type);
}

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_VERSIONS, type);
}

// Stream ids name the aggregate: `message-<id>`, `device-<id>`.
export const streamOf = {
  message: (messageId: string) => `message-${messageId}`,
  device: (deviceId: number) => `device-${deviceId}`,
  campaign: (campaignId: string) => `campaign-${campaignId}`,
  contacts: (deviceId: number) => `contacts-${deviceId}`,
  webhookDelivery: (deliveryId: string) => `webhook-delivery-${deliveryId}`,
  webhookEndpoint: (endpointId: string) => `webhook-endpoint-${endpointId}`,
  // One per sender of `/login` to the login bot: their number's digits, or `lid-<digits>` when only a LID is known.
  botLogin: (sender: string) => `bot-login-${sender}`,
  // An account's audit trail and password-login attempts, by username (known or not).
  account: (username: string) => `account-${username}`,
  file: (fileId: string) => `file-${fileId}`,
  // One per chat of a device that the AI answers (`chatDigest`: src/ai/chats.ts).
  aiChat: (deviceId: number, chatDigest: string) => `ai-chat-${deviceId}-${chatDigest}`,
  aiCost: (userId: number | undefined) => `ai-cost-${userId ?? 'platform'}`,
  warmerCampaign: (campaignId: number) => `warmer-campaign-${campaignId}`,
};
