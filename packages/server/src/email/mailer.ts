/**
 * `send_email` (spec §3): through the configured SMTP relay, or into the log when there is none.
 * A relay is the operator's reputation and credentials, so it is guarded: never for owners anyone
 * can invent (`--owners ANY` without `--smtp-allow-any-owner`), never for an owner created by the
 * request itself, a capped number of recipients per call and per owner and hour, and the relay's
 * password never in clear text to a relay off this machine.
 */
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import { SMTP_LIMITS, isLoopback, isOpenRelay, type PodConfig, type SmtpConfig } from '../config.js';
import { PodError, badRequest } from '../errors.js';
import type { Owner } from '../storage/owners.js';
import { HourlyBudget } from './hourly-budget.js';

export interface Email {
  to: string;
  subject: string;
  body: string;
}

export interface Mailer {
  /** True when mail leaves the Pod: only owners whose database already exists may then send. */
  readonly relays: boolean;
  send(owner: Owner, email: Email): Promise<void>;
}

export function createMailer(config: Pick<PodConfig, 'smtp' | 'owners'>, log: FastifyBaseLogger): Mailer {
  const { smtp } = config;
  if (!smtp)
    return {
      relays: false,
      send: async (owner, email) => {
        log.info(
          { owner: owner.hash, to: email.to, subject: email.subject, bodyLength: email.body.length },
          'send_email: no SMTP relay configured, not sent',
        );
      },
    };
  const transport = nodemailer.createTransport(transportOptions(smtp));
  const maxRecipients = smtp.maxRecipients ?? SMTP_LIMITS.maxRecipients;
  const budget = new HourlyBudget(smtp.perHour ?? SMTP_LIMITS.perHour);
  return {
    relays: true,
    async send(owner, email) {
      if (isOpenRelay(config))
        throw new PodError(
          'forbidden',
          'send_email is off: with --owners ANY anyone could send mail through this Pod (see --owners and --smtp-allow-any-owner)',
        );
      const to = recipients(email.to);
      if (to.length > maxRecipients)
        throw badRequest(
          `"to" names ${to.length} recipients; a call may send to at most ${maxRecipients} (see --smtp-max-recipients)`,
        );
      const waitSeconds = budget.spend(owner.hash, to.length);
      if (waitSeconds > 0)
        throw new PodError(
          'tooMany',
          `this owner has sent its emails for now (see --smtp-rate); retry in ${waitSeconds} s`,
          { 'retry-after': String(waitSeconds) },
        );
      try {
        await transport.sendMail({ from: smtp.from, to, subject: email.subject, text: email.body });
      } catch (error) {
        // The relay's own message may echo credentials; report only its code.
        const code = (error as { code?: string }).code ?? 'error';
        log.warn({ owner: owner.hash, code }, 'send_email failed');
        if (code === 'ETLS')
          throw new PodError(
            'internal',
            'the SMTP relay offers no TLS, and the Pod does not send the SMTP password in clear text; use --smtp-secure or a relay with STARTTLS',
          );
        throw new PodError('internal', `the SMTP relay refused or could not be reached (${code})`);
      }
    },
  };
}

/**
 * The relay's password goes only over TLS (`secure` from the start, or STARTTLS required), except
 * to a relay on loopback, where it never crosses a network.
 */
export function transportOptions(smtp: SmtpConfig) {
  const { user } = smtp;
  const credentials = user !== undefined;
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: credentials && !smtp.secure && !isLoopback(smtp.host),
    auth: user === undefined ? undefined : { user, pass: smtp.password },
  };
}

/** The addresses `to` names, groups and `,`/`;` lists included, as the relay would get them. */
function recipients(to: string): { name: string; address: string }[] {
  const parsed = addressparser(to, { flatten: true });
  const invalid = parsed.find(({ address }) => !/^[^\s@<>]+@[^\s@<>]+$/.test(address));
  if (invalid || parsed.length === 0)
    throw badRequest('"to" must be an email address such as "Alice <alice@example.org>"');
  return parsed;
}
