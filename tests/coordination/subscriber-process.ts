import { openTestCoordination, type CoordinationKind } from '../helpers/coordination.ts';

// A process that subscribes to a channel and then only waits, for the contract suite to SIGKILL: the store must
// stop counting its subscription without any help from it.
const [kind, databaseUrl, redisPrefix, channel] = process.argv.slice(2) as [CoordinationKind, string, string, string];
const instance = await openTestCoordination({ databaseUrl, redisPrefix }, kind);
await instance.coordination.subscribe(channel, () => {});
process.stdout.write('subscribed\n');
setInterval(() => {}, 60_000);
