import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';

export interface SseReading {
  messages: EventSourceMessage[];
  // Resolves when the stream ends (the server closed it, or `abort` was called).
  done: Promise<void>;
  abort(): void;
}

// A real HTTP client of the SSE route, parsed by eventsource-parser (the parser browsers' polyfills use).
export async function openSse(url: string, headers: Record<string, string>, onMessage?: (m: EventSourceMessage, r: SseReading) => void): Promise<SseReading> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  if (res.status !== 200) throw new Error(`SSE answered ${res.status}: ${await res.text()}`);
  const reading: SseReading = { messages: [], done: Promise.resolve(), abort: () => controller.abort() };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  reading.done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        reading.messages.push(value);
        onMessage?.(value, reading);
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  return reading;
}
