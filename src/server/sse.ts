/**
 * Server-Sent Events over a web ReadableStream (what Hono handlers return). The producer gets a
 * channel to send on and returns its clean-up; clean-up runs exactly once, whichever comes first:
 * the client goes away (the request's abort signal, or the response stream being cancelled), the
 * producer closes the channel, or the server shuts down. So no watcher or timer outlives its client.
 */

export interface SseChannel {
  /** Sends one event; `data` is JSON-encoded. Ignored once closed. */
  send(event: string, data: unknown, id?: string): void;
  /** Ends the stream (and runs the clean-up). */
  close(): void;
  readonly closed: boolean;
}

export interface SseOptions {
  /** The request's abort signal (fires when the client disconnects). */
  signal: AbortSignal;
  /** A comment line this often keeps proxies and the browser from dropping an idle stream (ms). */
  keepAliveMs?: number;
  /** Told when the stream opens and closes (the server counts open streams and closes them on shutdown). */
  onOpen?: (channel: SseChannel) => void;
  onClose?: (channel: SseChannel) => void;
}

export const SSE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

export function sseStream(options: SseOptions, produce: (channel: SseChannel) => () => void): ReadableStream {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  let cleanup: (() => void) | null = null;
  let keepAlive: ReturnType<typeof setInterval> | null = null;
  let closed = false;

  const write = (text: string) => {
    if (closed || !controller) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      finish();
    }
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    if (keepAlive) clearInterval(keepAlive);
    options.signal.removeEventListener('abort', finish);
    try {
      cleanup?.();
    } finally {
      cleanup = null;
      try {
        controller?.close();
      } catch {
        // Already closed or errored by the consumer going away.
      }
      options.onClose?.(channel);
    }
  };
  const channel: SseChannel = {
    send(event, data, id) {
      if (/[\r\n]/.test(event) || (id !== undefined && /[\r\n]/.test(id))) {
        throw new Error('SSE event names and ids must not contain line breaks');
      }
      // JSON.stringify never emits a raw line break, so the payload is one data: line.
      write(`event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    close: finish,
    get closed() {
      return closed;
    },
  };

  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (options.signal.aborted) {
        closed = true;
        c.close();
        return;
      }
      options.signal.addEventListener('abort', finish);
      options.onOpen?.(channel);
      // Reconnect after 2 s if the connection drops (EventSource's default is 3 s).
      write('retry: 2000\n\n');
      keepAlive = setInterval(() => write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
      try {
        const dispose = produce(channel);
        if (closed) dispose();
        else cleanup = dispose;
      } catch (err) {
        finish();
        throw err;
      }
    },
    cancel() {
      finish();
    },
  });
}
