import { after, before } from 'node:test';
import { trustSimulator } from '../../simulator/trust.ts';
import { WhatsAppSimulator, type SimOptions } from '../../simulator/server.ts';

export interface SimulatorFixture {
  sim: WhatsAppSimulator;
  // waWebSocketUrl for Baileys, the base of the control API, and the media host with its certificate.
  url: string;
  control: string;
  mediaUrl: string;
  caPem: string;
  post(path: string, body: object): Promise<Response>;
}

export { trustSimulator };

// A test file's simulator, listening on a free port for the file's tests and closed after them.
export function useSimulator(options: SimOptions = {}): SimulatorFixture {
  const fixture: SimulatorFixture = {
    sim: new WhatsAppSimulator(options),
    url: '',
    control: '',
    mediaUrl: '',
    caPem: '',
    post: (path, body) =>
      fetch(`${fixture.control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
  before(async () => {
    ({ url: fixture.url, control: fixture.control, mediaUrl: fixture.mediaUrl, caPem: fixture.caPem } = await fixture.sim.listen());
    trustSimulator(fixture.caPem);
  });
  after(() => fixture.sim.close());
  return fixture;
}
