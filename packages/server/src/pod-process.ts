/** The Pod as users run it, for benches of every package: its CLI in a child process on a free loopback port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

export interface PodProcess {
  url: string;
  child: ChildProcess;
  /** Resident memory now, and its peak so far (Linux /proc), in MiB. */
  rssMiB(): number;
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export { freePort };

export async function startPodProcess(dataDir: string, extraArgs: string[] = []): Promise<PodProcess> {
  const port = await freePort();
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [cli, '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${url}/version`)).ok) break;
    } catch {
      if (attempt > 100 || child.exitCode !== null) throw new Error('the Pod did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const status = (field: string) => {
    const found = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (!found) throw new Error(`no ${field} in /proc/${child.pid}/status`);
    return Number(found[1]) / 1024;
  };
  return {
    url,
    child,
    rssMiB: () => status('VmRSS'),
    peakRssMiB: () => status('VmHWM'),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Runs `pod move` as an operator would, beside the Pod serving `dataDir`; its exit code and what it printed. */
export function runPodMove(
  dataDir: string,
  { owner, to, secretFile }: { owner: string; to: string; secretFile: string },
): Promise<{ code: number | null; output: string }> {
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  const args = [cli, 'move', '--data-dir', dataDir, '--owner', owner, '--to', to, '--secret-file', secretFile];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}
