/** A hand-driven HTTP/1.1 client for attacks that need control over when each byte is sent. */
import net from 'node:net';

export interface SlowSocket {
  /** Writes bytes now (ignored once the Pod has closed the socket). */
  send(bytes: string | Buffer): void;
  /** Resolves with everything the Pod sent, once it closes the socket or `ms` passes (then `closed` is false). */
  answer(ms: number): Promise<{ text: string; status: number | undefined; closed: boolean; afterMs: number }>;
  /** Resolves when the first bytes of an answer arrive, or undefined after `ms`. */
  firstBytes(ms: number): Promise<number | undefined>;
  destroy(): void;
}

export function openSlowSocket(url: string): Promise<SlowSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      const started = Date.now();
      let text = '';
      let closed = false;
      const waiters: (() => void)[] = [];
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        for (const wake of waiters.splice(0)) wake();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        closed = true;
        for (const wake of waiters.splice(0)) wake();
      });
      const wait = (ms: number, done: () => boolean) =>
        new Promise<void>((settle) => {
          if (done()) return settle();
          const timer = setTimeout(settle, ms);
          const check = () => {
            if (!done()) return void waiters.push(check);
            clearTimeout(timer);
            settle();
          };
          waiters.push(check);
        });
      resolve({
        send: (bytes) => void (!socket.destroyed && socket.write(bytes)),
        async answer(ms) {
          await wait(ms, () => closed);
          const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
          return { text, status: status ? Number(status) : undefined, closed, afterMs: Date.now() - started };
        },
        async firstBytes(ms) {
          await wait(ms, () => text.length > 0);
          return text.length > 0 ? Date.now() - started : undefined;
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** The request line and headers of a POST with a declared body length. */
export const postHead = (path: string, contentLength: number, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra}\r\n`;
