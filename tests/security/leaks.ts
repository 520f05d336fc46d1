import type { Tenant } from './tenants.ts';

// A leak, precisely: one of the victim's unique strings (marker, owned strings, string ids, username, numbers)
// in the answer (body or headers) to someone else's request that did not itself carry that string, or one of the
// victim's numeric ids under a key that names a device or a user. Strings the request carried may be echoed
// ("No device with session id …"): the caller knew them already.
export function leaksOf(victim: Tenant, sent: string, answer: { body: string; headers: Record<string, unknown> }): string[] {
  const text = `${answer.body}\n${JSON.stringify(answer.headers)}`;
  const strings = [
    victim.marker,
    victim.username,
    ...victim.owned,
    ...victim.devices.flatMap((d) => [d.sessionId, d.phone, d.phone.slice(1)]),
    ...victim.messageIds,
    ...victim.campaignIds,
    ...victim.webhookIds,
    ...victim.deliveryIds,
    ...victim.jids,
    ...victim.groupJids,
  ];
  const found = strings.filter((s) => text.includes(s) && !sent.includes(s));
  const numeric = new Map<string, Set<number>>([
    ['deviceId', new Set(victim.devices.map((d) => d.id))],
    ['tenantId', new Set([victim.id])],
    ['userId', new Set([victim.id])],
  ]);
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === 'number' && numeric.get(key)?.has(value) && !new RegExp(`\\b${value}\\b`).test(sent)) found.push(`${key}: ${value}`);
        visit(value);
      }
  };
  try {
    visit(JSON.parse(answer.body));
  } catch {
    // Not JSON: the string search above is all there is to do.
  }
  return found;
}
