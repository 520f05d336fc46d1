import { campaignsProjection } from './campaigns.ts';
import { contactsProjection } from './contacts.ts';
import { devicesProjection } from './devices.ts';
import { lidMappingsProjection } from './lid-mappings.ts';
import { messagesProjection } from './messages.ts';
import type { Projection } from './projection.ts';
import { startProjections, type ProjectionRunner } from './runner.ts';
import type { AppendNotifier } from '../notifier.ts';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../logger.ts';
import { webhookDeliveriesProjection } from './webhook-deliveries.ts';

// Every projection the runner keeps up to date.
export const projections: Projection[] = [messagesProjection, devicesProjection, campaignsProjection, contactsProjection, lidMappingsProjection, webhookDeliveriesProjection];

// The worker role's log readers: the reactors (what sends, delivers and replies) and the read models, each group
// batched together in a runner of its own, so what sends never waits on the read models' heavier writes. Through a
// burst (a 10,000-message campaign) the reactors have the process (one thread) to themselves: its jobs are on the
// queues before its views are written.
export function startLogReaders(orm: Orm, reactors: Projection[], notifier: AppendNotifier, logger: Logger): ProjectionRunner {
  const first = startProjections(orm, reactors, notifier, logger);
  const readModels = startProjections(orm, projections, notifier, logger, first);
  return {
    idle: async () => void (await Promise.all([first.idle(), readModels.idle()])),
    close: async () => {
      await readModels.close();
      await first.close();
    },
  };
}
