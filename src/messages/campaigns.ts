import type { EntityManager } from '@mikro-orm/postgresql';
import type { Coordination } from '../coordination/coordination.ts';
import { AppError } from '../domain/errors.ts';
import { streamOf, type DomainEvent } from '../domain/events.ts';
import { MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, newCampaignId, newMessageId, renderTemplate, type MediaContent, type MessageContent } from '../domain/messages.ts';
import { keyOf, renderRef, templateOf, type TemplateRef, type TemplateSet } from '../domain/business-templates.ts';
import { setsFor } from '../templates/business-templates.ts';
import { holdFiles, liveFilesOf, type FileForSend, type FileHold } from '../files/file-records.ts';
import { mediaFileOf } from './media-content.ts';
import { parseRecipient } from '../domain/recipients.ts';
import { eventIdOf } from '../events/event-ids.ts';
import { appendToManyStreams, appendToStream, readStream, sqlOf, type EventMetadata } from '../events/event-store.ts';
import { sendJobOptions, type SendQueues } from '../workers/sending/send-queues.ts';
import type { SendingDevice } from './queue-message.ts';
import { transaction } from '../db/transactions.ts';

// Bulk sends (seed 004's /send/bulk): a campaign is a stream of its own (`campaign.*` events) plus one ordinary
// message per recipient, tagged with the campaign. Creating one is two bulk statements in one transaction; the
// dispatcher then queues the messages like any other. Pause and cancel take the campaign's waiting jobs off the
// session's queue (a paused job would otherwise keep taking the session's turns); resume puts them back.

export interface BulkRecipient {
  phoneNumber: string;
  message?: string;
  variables?: Record<string, string | number>;
  // A business template instead of `message`, filled from its own variables and the recipient's.
  template?: TemplateRef;
  // Seed 004's bulk media: a file of the sender's, with its caption (the message, when there is no caption).
  fileId?: string;
  caption?: string;
}

export interface CampaignRequest {
  device: SendingDevice;
  name?: string;
  // The text for recipients without their own, with `{variable}` placeholders.
  message?: string;
  // Or a business template, filled per recipient.
  template?: TemplateRef;
  // The file for recipients without their own.
  fileId?: string;
  recipients: BulkRecipient[];
  sendAt?: Date;
  priority?: number;
}

export interface Rejection {
  index: number;
  phoneNumber: string;
  error: string;
}

export interface CreatedCampaign {
  campaignId: string;
  total: number;
  accepted: number;
  rejected: Rejection[];
}

const stateKey = (campaignId: string) => `campaign-state:${campaignId}`;
const STATE_TTL_MS = 30 * 86_400_000;

// What a send worker must do with a campaign's message now: go on, wait (paused) or drop it (cancelled).
export async function campaignState(coordination: Coordination, campaignId: string): Promise<'running' | 'paused' | 'cancelled'> {
  const state = await coordination.get(stateKey(campaignId));
  return state === 'paused' || state === 'cancelled' ? state : 'running';
}

// The campaign's text for recipients without their own: a `{variable}` text or a business template.
type CampaignText = Pick<CampaignRequest, 'message' | 'template'>;

// A recipient's text: their own message or template, else the campaign's, with their variables filled; undefined
// when neither has one.
function renderedFor(recipient: BulkRecipient, campaign: CampaignText, sets: Map<string, TemplateSet>): { text: string } | { error: string } | undefined {
  if (recipient.message !== undefined && recipient.template) return { error: 'give either message or template' };
  const source = recipient.message ?? recipient.template ?? campaign.message ?? campaign.template;
  if (source === undefined) return undefined;
  if (typeof source !== 'string') {
    const rendered = renderRef(sets.get(keyOf(source)), source, recipient.variables);
    return 'error' in rendered ? { error: rendered.error === 'VALIDATION_ERROR' ? rendered.message : `${rendered.error}: ${rendered.message}` } : rendered;
  }
  const rendered = renderTemplate(source, recipient.variables);
  return 'missing' in rendered ? { error: `no value for {${rendered.missing}}` } : rendered;
}

function textContentFor(recipient: BulkRecipient, campaign: CampaignText, sets: Map<string, TemplateSet>): { content: MessageContent } | { error: string } {
  const text = renderedFor(recipient, campaign, sets);
  if (text === undefined) return { error: 'no message: give the campaign a message or template, or this recipient one' };
  if ('error' in text) return text;
  if (!text.text.trim()) return { error: 'the message is blank' };
  if (text.text.length > MAX_TEXT_LENGTH) return { error: `the message is longer than ${MAX_TEXT_LENGTH} characters` };
  return { content: { type: 'text', text: text.text } };
}

// A file goes as the kind it is stored as (a stored image as an image, and so on).
function mediaFor(recipient: BulkRecipient, campaign: CampaignText, sets: Map<string, TemplateSet>, file: FileForSend): { content: MediaContent } | { error: string } {
  const own = recipient.caption === undefined ? undefined : renderTemplate(recipient.caption, recipient.variables);
  if (own && 'missing' in own) return { error: `no value for {${own.missing}}` };
  const caption = own ?? renderedFor(recipient, campaign, sets);
  if (caption && 'error' in caption) return caption;
  if (caption && caption.text.length > MAX_CAPTION_LENGTH) return { error: `the caption is longer than ${MAX_CAPTION_LENGTH} characters` };
  const text = caption?.text.trim() ? caption.text : undefined;
  return { content: { type: file.kind, file: mediaFileOf(file), ...(text ? { caption: text } : {}) } };
}

export async function createCampaign(em: EntityManager, request: CampaignRequest): Promise<CreatedCampaign> {
  const { device, recipients } = request;
  const wanted = recipients.map((r) => r.fileId ?? request.fileId).filter((id) => id !== undefined);
  const files = await liveFilesOf(em, device.userId, wanted);
  if (request.message !== undefined && request.template) throw new AppError('VALIDATION_ERROR', 'give the campaign either a message or a template');
  const sets = await setsFor(em, device.userId, [request.template, ...recipients.map((r) => r.template)].filter((ref) => ref !== undefined));
  // The campaign's own template must exist for the whole request; a recipient's variables are checked per row.
  const campaignTemplate = request.template && templateOf(sets.get(keyOf(request.template)), request.template);
  if (campaignTemplate && 'error' in campaignTemplate) throw new AppError(campaignTemplate.error, campaignTemplate.message);
  const holds: FileHold[] = [];
  const campaignId = newCampaignId();
  const metadata: EventMetadata = { tenantId: device.userId, deviceId: device.id, sessionId: device.sessionId, correlationId: campaignId };
  const rejected: Rejection[] = [];
  const messages: { streamId: string; event: DomainEvent; metadata: EventMetadata }[] = [];
  recipients.forEach((recipient, index) => {
    const to = parseRecipient(recipient.phoneNumber);
    if (!to) return void rejected.push({ index, phoneNumber: recipient.phoneNumber, error: 'INVALID_PHONE_NUMBER' });
    const fileId = recipient.fileId ?? request.fileId;
    const file = fileId === undefined ? undefined : files.get(fileId);
    if (fileId !== undefined && !file) return void rejected.push({ index, phoneNumber: recipient.phoneNumber, error: `FILE_NOT_FOUND: no file ${fileId} of yours` });
    const built = file ? mediaFor(recipient, request, sets, file) : textContentFor(recipient, request, sets);
    if ('error' in built) return void rejected.push({ index, phoneNumber: recipient.phoneNumber, error: built.error });
    const messageId = newMessageId();
    if (file) holds.push({ messageId, fileId: file.fileId });
    messages.push({
      streamId: streamOf.message(messageId),
      event: {
        type: 'message.queued',
        data: {
          messageId,
          to: to.jid,
          content: built.content,
          campaignId,
          ...(request.sendAt ? { sendAt: request.sendAt.toISOString() } : {}),
          ...(request.priority === undefined ? {} : { priority: request.priority }),
        },
      },
      metadata,
    });
  });
  // A campaign nobody can be sent to is a mistake to point out, not one to record.
  if (!messages.length) throw noRecipients(rejected);
  await transaction(em, async (tx) => {
    await appendToStream(
      tx,
      streamOf.campaign(campaignId),
      [{ event: { type: 'campaign.created', data: { campaignId, ...(request.name ? { name: request.name } : {}), total: recipients.length, accepted: messages.length, rejected } } }],
      { expectedVersion: 'no-stream', metadata },
    );
    await appendToManyStreams(tx, messages, { expectedVersion: 'no-stream' });
    await holdFiles(tx, holds);
  });
  return { campaignId, total: recipients.length, accepted: messages.length, rejected };
}

// The first rows at fault, named like validation errors (a client fixes those and learns of the rest next).
const SHOWN_REJECTIONS = 20;
function noRecipients(rejected: Rejection[]): AppError {
  const details = rejected.slice(0, SHOWN_REJECTIONS).map(({ index, phoneNumber, error }) =>
    error === 'INVALID_PHONE_NUMBER'
      ? { field: `body.recipients.${index}.phoneNumber`, message: `${JSON.stringify(phoneNumber)} is not a phone number` }
      : { field: `body.recipients.${index}.message`, message: error },
  );
  return new AppError('VALIDATION_ERROR', `None of the ${rejected.length} recipients can be sent to`, details);
}

export interface CampaignView {
  id: string;
  name: string | null;
  deviceId: number;
  state: string;
  total: number;
  accepted: number;
  rejected: Rejection[];
  counts: Record<string, number>;
  // Share of accepted messages no longer waiting (sent on, failed or cancelled), in percent.
  progress: number;
  createdAt: string;
  completedAt: string | null;
}

export async function statusCounts(em: EntityManager, campaignId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = { queued: 0, sent: 0, delivered: 0, read: 0, played: 0, failed: 0, cancelled: 0 };
  for (const row of await sqlOf(em)('select status, count(*)::int as n from message_status where campaign_id = ? group by status', [campaignId])) {
    counts[String(row.status)] = Number(row.n);
  }
  return counts;
}

// The campaigns row, or — for one created a moment ago that the projection has not reached — its first event.
async function campaignRow(em: EntityManager, campaignId: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await sqlOf(em)('select * from campaigns where id = ?', [campaignId]);
  if (row) return row;
  const [created] = await readStream(em, streamOf.campaign(campaignId));
  if (created?.type !== 'campaign.created') return undefined;
  const data = created.data as { name?: string; total: number; accepted: number; rejected: Rejection[] };
  return {
    tenant_id: created.metadata.tenantId,
    device_id: created.metadata.deviceId,
    name: data.name ?? null,
    state: 'running',
    total: data.total,
    accepted: data.accepted,
    rejected: data.rejected,
    created_at: created.recordedAt.toISOString(),
    completed_at: null,
  };
}

// Messages of a campaign still waiting: queued ones, and those the read model has not reached yet.
function waitingOf(counts: Record<string, number>, accepted: number): number {
  const projected = Object.values(counts).reduce((a, b) => a + b, 0);
  return (counts.queued ?? 0) + Math.max(0, accepted - projected);
}

// A campaign of another tenant, or of a device a bound credential does not see (`deviceIds`), is missing.
export async function findCampaign(em: EntityManager, tenantId: number | undefined, campaignId: string, deviceIds?: readonly number[]): Promise<CampaignView> {
  const row = await campaignRow(em, campaignId);
  const hidden = !row || (tenantId !== undefined && Number(row.tenant_id) !== tenantId) || (deviceIds !== undefined && !deviceIds.includes(Number(row.device_id)));
  if (hidden) throw new AppError('NOT_FOUND', `Campaign ${campaignId} not found`);
  const counts = await statusCounts(em, campaignId);
  const accepted = Number(row.accepted);
  const waiting = waitingOf(counts, accepted);
  return {
    id: campaignId,
    name: (row.name as string | null) ?? null,
    deviceId: Number(row.device_id),
    state: String(row.state),
    total: Number(row.total),
    accepted,
    rejected: row.rejected as Rejection[],
    counts,
    progress: accepted ? Math.round(((accepted - waiting) / accepted) * 10_000) / 100 : 100,
    createdAt: new Date(String(row.created_at)).toISOString(),
    completedAt: row.completed_at ? new Date(String(row.completed_at)).toISOString() : null,
  };
}

interface Controls {
  em: EntityManager;
  coordination: Coordination;
  queues: SendQueues;
}

async function waitingMessages(em: EntityManager, campaignId: string): Promise<{ messageId: string; version: number }[]> {
  const rows = await sqlOf(em)(
    `select ms.message_id, s.version from message_status ms join streams s on s.stream_id = 'message-' || ms.message_id
      where ms.campaign_id = ? and ms.status = 'queued'`,
    [campaignId],
  );
  return rows.map((r) => ({ messageId: String(r.message_id), version: Number(r.version) }));
}

async function unqueue(queues: SendQueues, deviceId: number, jobIds: string[]): Promise<void> {
  const queue = queues.of(deviceId);
  for (let i = 0; i < jobIds.length; i += 500) {
    // A job already running is left to finish; its worker checks the campaign's state first.
    await Promise.all(jobIds.slice(i, i + 500).map((id) => queue.remove(id).catch(() => 0)));
  }
}

async function record(em: EntityManager, campaign: CampaignView, event: DomainEvent, tenantId: number, sessionId: string): Promise<void> {
  await appendToStream(em, streamOf.campaign(campaign.id), [{ event }], {
    expectedVersion: 'any',
    metadata: { tenantId, deviceId: campaign.deviceId, sessionId, correlationId: campaign.id },
  });
}

const finished = (campaign: CampaignView) => campaign.state === 'cancelled' || campaign.state === 'completed';

export async function pauseCampaign(controls: Controls, campaign: CampaignView, owner: { tenantId: number; sessionId: string }): Promise<void> {
  if (campaign.state !== 'running') throw new AppError('VALIDATION_ERROR', `Campaign ${campaign.id} is ${campaign.state}, not running`);
  await controls.coordination.set(stateKey(campaign.id), 'paused', STATE_TTL_MS);
  await record(controls.em, campaign, { type: 'campaign.paused', data: { campaignId: campaign.id } }, owner.tenantId, owner.sessionId);
  const waiting = await waitingMessages(controls.em, campaign.id);
  await unqueue(controls.queues, campaign.deviceId, waiting.map((m) => `${m.messageId}-v${m.version}`));
}

export async function resumeCampaign(controls: Controls, campaign: CampaignView, owner: { tenantId: number; sessionId: string }): Promise<void> {
  // Resuming a running campaign would queue its messages twice.
  if (campaign.state !== 'paused') throw new AppError('VALIDATION_ERROR', `Campaign ${campaign.id} is ${campaign.state}, not paused`);
  await controls.coordination.delete(stateKey(campaign.id));
  await record(controls.em, campaign, { type: 'campaign.resumed', data: { campaignId: campaign.id } }, owner.tenantId, owner.sessionId);
  // Jobs named by the resume, so they are new ones whatever the paused ones left behind.
  const queue = controls.queues.of(campaign.deviceId);
  const waiting = await waitingMessages(controls.em, campaign.id);
  const resumeId = Date.now().toString(36);
  for (let i = 0; i < waiting.length; i += 1000) {
    await queue.addBulk(
      waiting.slice(i, i + 1000).map(({ messageId, version }) => ({
        name: 'send',
        data: { messageId },
        opts: { ...sendJobOptions(messageId, version, new Date()), jobId: `${messageId}-v${version}-r${resumeId}` },
      })),
    );
  }
}

export async function cancelCampaign(controls: Controls, campaign: CampaignView, owner: { tenantId: number; sessionId: string }): Promise<number> {
  if (finished(campaign)) throw new AppError('VALIDATION_ERROR', `Campaign ${campaign.id} is ${campaign.state}`);
  await controls.coordination.set(stateKey(campaign.id), 'cancelled', STATE_TTL_MS);
  const waiting = await waitingMessages(controls.em, campaign.id);
  await unqueue(controls.queues, campaign.deviceId, waiting.map((m) => `${m.messageId}-v${m.version}`));
  const metadata: EventMetadata = { tenantId: owner.tenantId, deviceId: campaign.deviceId, sessionId: owner.sessionId, correlationId: campaign.id };
  const cancelled = await appendToManyStreams(
    controls.em,
    waiting.map(({ messageId }) => ({
      streamId: streamOf.message(messageId),
      event: { type: 'message.cancelled', data: { messageId, reason: 'the campaign was cancelled' } },
      metadata,
    })),
    { expectedVersion: 'any' },
  );
  await record(controls.em, campaign, { type: 'campaign.cancelled', data: { campaignId: campaign.id, cancelledMessages: cancelled } }, owner.tenantId, owner.sessionId);
  return cancelled;
}

// Reports how running campaigns move along (on SSE and webhooks) and completes those with nothing left waiting.
// Runs every few seconds in the worker role; a report is appended only when the counts changed.
export async function reportCampaignProgress(em: EntityManager, coordination: Coordination): Promise<number> {
  const running = await sqlOf(em)(
    `select c.id, c.tenant_id, c.accepted, c.device_id, d.session_id from campaigns c join devices d on d.id = c.device_id
      where c.state in ('running', 'paused')`,
  );
  for (const row of running) {
    const campaignId = String(row.id);
    const counts = await statusCounts(em, campaignId);
    const accepted = Number(row.accepted);
    const waiting = waitingOf(counts, accepted);
    const metadata: EventMetadata = { tenantId: Number(row.tenant_id), deviceId: Number(row.device_id), sessionId: String(row.session_id), correlationId: campaignId };
    const summary = JSON.stringify(counts);
    const key = `campaign-progress:${campaignId}`;
    if ((await coordination.get(key)) !== summary) {
      await appendToStream(em, streamOf.campaign(campaignId), [{ event: { type: 'campaign.progressed', data: { campaignId, counts, done: accepted - waiting, total: accepted } } }], {
        expectedVersion: 'any',
        metadata,
      });
      await coordination.set(key, summary, STATE_TTL_MS);
    }
    if (waiting === 0) {
      await appendToStream(em, streamOf.campaign(campaignId), [{ event: { type: 'campaign.completed', data: { campaignId, counts } }, eventId: eventIdOf(`${campaignId}:completed`) }], {
        expectedVersion: 'any',
        metadata,
      });
    }
  }
  return running.length;
}
