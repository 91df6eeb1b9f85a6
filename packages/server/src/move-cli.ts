/** `pod move`: asks the running Pod, through its operator socket (admin-socket.ts), to move one owner. */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { ErrorBody, MoveReport, type MoveRequest } from '@pod/protocol';
import { ADMIN_SOCKET, adminRoutes } from './admin-socket.js';
import { dataDirOption, ownerOption, run } from './backup-cli.js';
import { PodError } from './errors.js';

export const moveCommand = new Command('move')
  .description(
    'move one owner to another Pod while it keeps serving: copy, a short pause of its writes, the rest; ' +
      'then this Pod answers its requests with 307 to the new host (run where the source Pod runs)',
  )
  .addOption(dataDirOption())
  .addOption(ownerOption())
  .addOption(
    new Option('--to <url>', 'the target Pod (started with --accept-moves-secret-file), e.g. https://pod2.example')
      .env('POD_MOVE_TO')
      .makeOptionMandatory(),
  )
  .addOption(
    new Option('--secret-file <path>', "file holding the target's move secret (its --accept-moves-secret-file)")
      .env('POD_MOVE_SECRET_FILE')
      .makeOptionMandatory(),
  )
  .action((flags: { dataDir: string; owner: string; to: string; secretFile: string }) =>
    run(async () => {
      const secret = readSecret(flags.secretFile);
      const report = await askPod(join(flags.dataDir, ADMIN_SOCKET), { owner: flags.owner, to: flags.to, secret });
      const MiB = (report.bytes / 1024 / 1024).toFixed(1);
      return (
        `moved owner ${report.owner} to ${report.to}: ${report.files} files, ${MiB} MiB; ` +
        `writes paused ${Math.round(report.pauseMs)} ms, ${(report.totalMs / 1000).toFixed(1)} s in all`
      );
    }),
  );

function readSecret(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new PodError('invalid', `cannot read --secret-file ${path}: ${(error as Error).message}`);
  }
}

function askPod(socketPath: string, move: MoveRequest): Promise<MoveReport> {
  return new Promise((resolve, reject) => {
    const ask = request({ socketPath, path: adminRoutes.move, method: 'POST' }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (response.statusCode === 200) return resolve(MoveReport.parse(json));
          const error = ErrorBody.safeParse(json);
          reject(
            new PodError('invalid', error.success ? error.data.message : `the Pod answered ${response.statusCode}`),
          );
        } catch (error) {
          reject(error);
        }
      });
    });
    ask.on('error', (error) =>
      reject(
        new PodError(
          'unavailable',
          `no Pod answers on ${socketPath} (${error.message}): run pod move where the source Pod runs, with its --data-dir`,
        ),
      ),
    );
    ask.end(JSON.stringify(move));
  });
}
