import type { BinaryNode, WASocket } from '@whiskeysockets/baileys';

// WhatsApp answered the message with an error ack (463: the number's reach-out time-lock on new contacts).
export class WhatsAppRefusal extends Error {
  readonly code: string;
  constructor(waMessageId: string, code: string) {
    super(`WhatsApp refused message ${waMessageId} (error ${code})`);
    this.code = code;
  }
}

// WhatsApp's server acknowledges every message it accepts (`<ack class="message" id=…>`). Baileys only reports the
// failed ones; a message counts as sent when this ack arrives, not when the frame left our socket (a connection
// that dies in between loses the frame, and the send must be tried again).
export class ServerAcks {
  readonly #waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

  // Listens on a (new) socket; acks of an older one no longer count, and its waiters fail at once when it closes.
  watch(socket: WASocket): void {
    socket.ws.on('CB:ack,class:message', (node: BinaryNode) => {
      const id = node.attrs.id;
      if (!id) return;
      if (node.attrs.error) this.#settle(id, new WhatsAppRefusal(id, node.attrs.error));
      else this.#settle(id);
    });
    socket.ws.on('close', () => this.failAll(new Error('the connection closed before WhatsApp acknowledged the message')));
  }

  // Call before sending, so an ack that beats the send's own promise is not missed.
  expect(waMessageId: string, timeoutMs: number): Promise<void> {
    this.#settle(waMessageId, new Error('superseded by a new attempt'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(waMessageId, new Error(`no server ack for ${waMessageId} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.set(waMessageId, { resolve, reject, timer });
    });
  }

  failAll(err: Error): void {
    for (const id of [...this.#waiting.keys()]) this.#settle(id, err);
  }

  #settle(id: string, err?: Error): void {
    const waiter = this.#waiting.get(id);
    if (!waiter) return;
    this.#waiting.delete(id);
    clearTimeout(waiter.timer);
    if (err) waiter.reject(err);
    else waiter.resolve();
  }
}
