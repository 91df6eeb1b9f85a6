/** A minimal SMTP relay for tests: records every command line and every mail it is sent. */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Mail {
  from: string;
  to: string[];
  data: string;
}

export interface SmtpSink {
  host: string;
  port: number;
  mails: Mail[];
  /** Every command line received, e.g. `AUTH PLAIN <base64>`, in order. */
  commands: string[];
  close(): Promise<void>;
}

/** Listens on `host` (default loopback); with `auth`, advertises `AUTH PLAIN` and no STARTTLS, as a relay stripped of TLS would. */
export async function smtpSink({ host = '127.0.0.1', auth = false } = {}): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    let inData = false;
    let current: Mail = { from: '', to: [], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 localhost fake ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push(current);
            current = { from: '', to: [], data: '' };
            reply('250 2.0.0 queued');
          } else current.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          continue;
        }
        commands.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply(auth ? '250-localhost\r\n250 AUTH PLAIN' : '250 localhost');
        else if (verb === 'HELO') reply('250 localhost');
        else if (verb === 'AUTH') reply('235 2.7.0 Authentication successful');
        else if (line.toUpperCase() === 'STARTTLS') reply('502 5.5.1 STARTTLS not implemented');
        else if (verb === 'MAIL') {
          current.from = line;
          reply('250 2.1.0 OK');
        } else if (verb === 'RCPT') {
          current.to.push(line);
          reply('250 2.1.5 OK');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else reply('250 OK');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    mails,
    commands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
