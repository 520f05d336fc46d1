import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_DEVICE_SETTINGS,
  NEW_CHAT,
  decideInbound,
  decideOwnerMessage,
  isIgnoredChat,
  matchesTrigger,
  promptTurns,
  replyParts,
  triggerProblem,
  type AiChatState,
  type AiDeviceSettings,
} from '../../src/domain/ai.ts';

const on: AiDeviceSettings = { ...DEFAULT_DEVICE_SETTINGS, aiEnabled: true, autoReply: true, provider: 'openai', model: 'gpt-4o-mini' };
const at = (seconds: number) => new Date(Date.UTC(2026, 11, 3, 12, 0, seconds));
const inbound = (id: string, seconds: number, text: string | null = 'hello', messageType = 'conversation') => ({ messageId: id, messageType, text: text ?? undefined, at: at(seconds) });

test('a burst: messages within the debounce window join one burst, whose last message names the reply job', () => {
  let state: AiChatState = NEW_CHAT;
  const bursts = [];
  for (const [id, s] of [['a', 0], ['b', 1], ['c', 2], ['d', 3]] as const) {
    const decision = decideInbound(on, state, inbound(id, s), at(s));
    assert.equal(decision.action.type, 'reply');
    state = decision.state;
    if (decision.action.type === 'reply') bursts.push(decision.action.burst);
  }
  assert.deepEqual(bursts.at(-1), { id: 'a', messageIds: ['a', 'b', 'c', 'd'], lastId: 'd', lastAt: at(3).toISOString(), taken: false });
  assert.equal(state.status, 'open');
  assert.deepEqual(state.memorySince, at(0), 'the conversation opened with its first message');
  const later = decideInbound(on, state, inbound('e', 20), at(20));
  assert.equal(later.action.type === 'reply' && later.action.burst.lastId, 'e', 'a burst whose reply has not started takes later messages too');
  const taken = decideInbound(on, { ...state, burst: { ...state.burst!, taken: true } }, inbound('f', 4), at(4));
  assert.equal(taken.action.type === 'reply' && taken.action.burst.id, 'f', 'a burst being answered takes no more messages');
});

test('triggers open a conversation; once open every message goes on; the end keyword closes it', () => {
  const keyword: AiDeviceSettings = { ...on, trigger: { type: 'keyword', operator: 'startsWith', keywords: ['Olá bot'] }, endKeyword: 'bye' };
  assert.equal(decideInbound(keyword, NEW_CHAT, inbound('a', 0, 'what time is it'), at(0)).action.type, 'ignore');
  const opened = decideInbound(keyword, NEW_CHAT, inbound('b', 1, 'ola BOT, hi'), at(1));
  assert.equal(opened.action.type, 'reply', 'accents and case do not matter');
  const next = decideInbound(keyword, opened.state, inbound('c', 30, 'and another thing'), at(30));
  assert.equal(next.action.type, 'reply');
  const bye = decideInbound(keyword, next.state, inbound('d', 40, ' Bye '), at(40));
  assert.equal(bye.action.type, 'ignore');
  assert.deepEqual(bye.changes, [{ type: 'ai.closed', reason: 'end-keyword' }]);
  assert.equal(bye.state.status, 'closed');
  assert.equal(decideInbound(keyword, bye.state, inbound('e', 50, 'hello?'), at(50)).action.type, 'ignore', 'closed again: the trigger is needed');
  assert.ok(matchesTrigger({ type: 'regex', pattern: '^order\\s+#\\d+' }, 'ORDER #12'));
  assert.ok(triggerProblem({ type: 'regex', pattern: '(' }));
  assert.equal(triggerProblem({ type: 'keyword', operator: 'equals', keywords: ['x'] }), undefined);
});

test('idle conversations close and start afresh; reactions and unreadable messages', () => {
  const open = decideInbound(on, NEW_CHAT, inbound('a', 0), at(0)).state;
  const dayLater = new Date(at(0).getTime() + 25 * 3600_000);
  const after = decideInbound(on, open, { ...inbound('b', 0), at: dayLater }, dayLater);
  assert.deepEqual(after.changes, [{ type: 'ai.closed', reason: 'idle' }]);
  assert.equal(after.action.type, 'reply');
  assert.deepEqual(after.state.memorySince, dayLater, 'the new conversation remembers nothing of the old');
  assert.equal(decideInbound(on, open, inbound('c', 5, '👍', 'reactionMessage'), at(5)).action.type, 'ignore', 'reactions are never answered');
  assert.equal(decideInbound(on, open, inbound('d', 5, null, 'stickerMessage'), at(5)).action.type, 'ignore', 'no unknown-message text set');
  const withText = { ...on, unknownMessageText: 'I can only read text' };
  assert.equal(decideInbound(withText, open, inbound('e', 5, null, 'locationMessage'), at(5)).action.type, 'unknown');
  assert.equal(decideInbound(withText, open, inbound('f', 5, null, 'reactionMessage'), at(5)).action.type, 'ignore');
});

test('the hourly cap pauses the chat until the oldest reply is an hour old; a pause that ended resumes', () => {
  const replies = Array.from({ length: 20 }, (_, i) => at(i).toISOString());
  const capped = decideInbound(on, { ...NEW_CHAT, status: 'open', replies }, inbound('x', 100), at(100));
  assert.equal(capped.action.type, 'ignore');
  const until = new Date(at(0).getTime() + 3600_000);
  assert.deepEqual(capped.changes, [{ type: 'ai.paused', reason: 'reply-cap', until: until.toISOString() }]);
  const later = new Date(until.getTime() + 1000);
  const resumed = decideInbound(on, capped.state, { ...inbound('y', 0), at: later }, later);
  assert.deepEqual(resumed.changes, [{ type: 'ai.resumed', reason: 'pause-ended' }]);
  assert.equal(resumed.action.type, 'reply');
});

test('a person writing pauses the bot for the takeover time; /bot off holds until /bot on', () => {
  const open: AiChatState = { ...NEW_CHAT, status: 'open', burst: { id: 'a', messageIds: ['a'], lastId: 'a', lastAt: at(0).toISOString(), taken: false } };
  const typed = decideOwnerMessage(on, open, 'I will handle this', at(10));
  assert.equal(typed.state.status, 'paused');
  assert.equal(typed.state.burst, null, 'the waiting burst is the person’s to answer');
  assert.deepEqual(typed.changes, [{ type: 'ai.paused', reason: 'human-takeover', until: new Date(at(10).getTime() + 3600_000).toISOString() }]);
  assert.equal(decideInbound(on, typed.state, inbound('b', 20), at(20)).action.type, 'ignore', 'paused: no reply');
  const off = decideOwnerMessage(on, open, '/bot off', at(10));
  assert.deepEqual([off.state.status, off.state.pausedUntil], ['paused', null]);
  assert.deepEqual(decideOwnerMessage(on, off.state, 'still me', at(20)).changes, [], 'an indefinite pause stays');
  const back = decideOwnerMessage(on, off.state, ' /BOT on ', at(30));
  assert.deepEqual([back.state.status, back.changes], ['open', [{ type: 'ai.resumed', reason: 'owner-command' }]]);
});

test('chats ignored: groups by default, chosen JIDs and wildcards, broadcasts', () => {
  assert.ok(isIgnoredChat(on, '120363000000000001@g.us'));
  assert.ok(!isIgnoredChat({ ...on, ignoreGroups: false }, '120363000000000001@g.us'));
  assert.ok(isIgnoredChat(on, 'status@broadcast'));
  assert.ok(isIgnoredChat(on, '123@newsletter'));
  assert.ok(isIgnoredChat({ ...on, ignoreJids: ['6281@s.whatsapp.net'] }, '6281@s.whatsapp.net'));
  assert.ok(isIgnoredChat({ ...on, ignoreJids: ['@s.whatsapp.net'] }, '6282@s.whatsapp.net'));
  assert.ok(!isIgnoredChat(on, '6282@s.whatsapp.net'));
});

test('replies split by paragraph within WhatsApp’s length; prompts alternate and start with the user', () => {
  assert.deepEqual(replyParts('One.\n\n  Two.\n \nThree.', true), ['One.', 'Two.', 'Three.']);
  assert.deepEqual(replyParts('One.\n\nTwo.', false), ['One.\n\nTwo.']);
  assert.deepEqual(replyParts('a\n\nb\n\nc', true, 4096, 2), ['a', 'b\n\nc']);
  const long = replyParts(`${'word '.repeat(2000)}`, false, 4096);
  assert.ok(long.length === 3 && long.every((part) => part.length <= 4096));
  assert.deepEqual(
    promptTurns(
      [
        { direction: 'out', text: 'earlier answer' },
        { direction: 'in', text: 'q1' },
        { direction: 'in', text: 'q2' },
        { direction: 'out', text: 'a' },
      ],
      ['b1', 'b2'],
    ),
    [
      { role: 'user', content: 'q1\nq2' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'b1\nb2' },
    ],
  );
});
