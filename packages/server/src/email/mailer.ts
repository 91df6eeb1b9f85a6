/** `send_email` (spec §3): through the configured SMTP relay, or into the log when there is none. */
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { SmtpConfig } from '../config.js';
import { PodError } from '../errors.js';

export interface Email {
  to: string;
  subject: string;
  body: string;
}

export type Mailer = (email: Email) => Promise<void>;

export function createMailer(smtp: SmtpConfig | undefined, log: FastifyBaseLogger): Mailer {
  if (!smtp)
    return async (email) => {
      log.info({ to: email.to, subject: email.subject, bodyLength: email.body.length }, 'send_email: no SMTP relay configured, not sent');
    };
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password } : undefined,
  });
  return async (email) => {
    try {
      await transport.sendMail({ from: smtp.from, to: email.to, subject: email.subject, text: email.body });
    } catch (error) {
      // The relay's own message may echo credentials; report only its code.
      log.warn({ to: email.to, code: (error as { code?: string }).code }, 'send_email failed');
      throw new PodError(500, `the SMTP relay refused or could not be reached (${(error as { code?: string }).code ?? 'error'})`);
    }
  };
}
