import { after, before } from 'node:test';
import { WhatsAppSimulator, type SimOptions } from '../../simulator/server.ts';

export interface SimulatorFixture {
  sim: WhatsAppSimulator;
  // waWebSocketUrl for Baileys, and the base of the control API.
  url: string;
  control: string;
  post(path: string, body: object): Promise<Response>;
}

// A test file's simulator, listening on a free port for the file's tests and closed after them.
export function useSimulator(options: SimOptions = {}): SimulatorFixture {
  const fixture: SimulatorFixture = {
    sim: new WhatsAppSimulator(options),
    url: '',
    control: '',
    post: (path, body) =>
      fetch(`${fixture.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
  before(async () => {
    ({ url: fixture.url, control: fixture.control } = await fixture.sim.listen());
  });
  after(() => fixture.sim.close());
  return fixture;
}
