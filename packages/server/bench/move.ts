/**
 * Moving an owner of 1 GiB (issue 15 part 3): two Pod processes on loopback; the owner holds
 * BENCH_MOVE_ITEMS items (default 20,000, in bulks) and large files up to BENCH_MOVE_MIB in all (default
 * 1,024 MiB: 16 files of 64 MiB, which is how a GiB is reached quickly; an owner's GiB in practice is
 * mostly photos and other files too). While `pod move` runs, a writer creates items back to back through
 * the old address (fetch follows the 307). Figures: the pause the source measured (its requests held)
 * beside the longest write the client waited during the move (the pause plus a write's own time while
 * the source also streams the copy), and the move's total time beside a plain copy of the owner's
 * folder on the same disk. Part of `npm run bench`; alone:
 * `node packages/server/dist/bench/move.js`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchProgress, type Progress } from '../src/bench-progress.js';
import { ownerHash } from '../src/config.js';
import { runPodMove, startPodProcess } from '../src/pod-process.js';

const TOTAL_MIB = Number(process.env.BENCH_MOVE_MIB ?? 1_024);
const ITEMS = Number(process.env.BENCH_MOVE_ITEMS ?? 20_000);
const FILE_MIB = Math.min(64, TOTAL_MIB);

export interface MoveFigures {
  mib: number;
  files: number;
  items: number;
  /** The longest create_item a client waited for while the move ran. */
  longestWriteMs: number;
  writesDuringMove: number;
  /** The pause as the source measured it (held requests' gate closed → opened). */
  pauseMs: number;
  totalMs: number;
  /** `cp -r` of the owner's folder on the same disk. */
  copyMs: number;
}

export async function benchMove(progress: Progress): Promise<MoveFigures> {
  const scratch = mkdtempSync(join(tmpdir(), 'pod-bench-move-'));
  const secretFile = join(scratch, 'secret');
  writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const source = await startPodProcess(join(scratch, 'source'));
  const target = await startPodProcess(join(scratch, 'target'), ['--accept-moves-secret-file', secretFile]);
  try {
    const owner = randomBytes(32).toString('hex');
    const auth = { type: 'ClientAuth', databaseKey: randomBytes(32).toString('hex') };
    const post = async (endpoint: string, payload: unknown) => {
      const response = await fetch(`${source.url}/v4/${owner}/${endpoint}`, {
        method: 'POST',
        body: JSON.stringify({ auth, payload }),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${endpoint}: ${response.status} ${text}`);
      return text;
    };
    progress(`building the owner: ${ITEMS.toLocaleString('en-US')} items, ${TOTAL_MIB} MiB of files`);
    for (let i = 0; i < ITEMS; i += 1_000) {
      const createItems = Array.from({ length: Math.min(1_000, ITEMS - i) }, (_, k) => ({
        type: 'Note',
        title: `note ${i + k} ${randomBytes(16).toString('hex')}`,
      }));
      await post('bulk', { createItems });
    }
    const files = Math.ceil(TOTAL_MIB / FILE_MIB);
    for (let f = 0; f < files; f++) {
      const bytes = randomBytes(FILE_MIB * 1024 * 1024);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await post('create_item', { type: 'File', sha256 });
      const response = await fetch(`${source.url}/v4/${owner}/upload_file/${auth.databaseKey}/${sha256}`, {
        method: 'POST',
        body: bytes,
      });
      if (response.status !== 200) throw new Error(`upload: ${response.status} ${await response.text()}`);
    }

    progress('copying the owner folder on disk (reference)');
    const copyStarted = performance.now();
    cpSync(join(scratch, 'source', ownerHash(owner)), join(scratch, 'copy'), { recursive: true });
    const copyMs = performance.now() - copyStarted;
    rmSync(join(scratch, 'copy'), { recursive: true, force: true });

    progress('moving the owner while a client writes');
    let moving = true;
    let longestWriteMs = 0;
    let writesDuringMove = 0;
    const writer = (async () => {
      for (let n = 0; moving; n++) {
        const started = performance.now();
        await post('create_item', { type: 'Note', title: `during the move ${n}` });
        longestWriteMs = Math.max(longestWriteMs, performance.now() - started);
        writesDuringMove++;
      }
    })();
    const moved = await runPodMove(join(scratch, 'source'), { owner: ownerHash(owner), to: target.url, secretFile });
    moving = false;
    await writer;
    if (moved.code !== 0) throw new Error(`pod move failed: ${moved.output}`);
    const [, pause, total] = /writes paused (\d+) ms, ([\d.]+) s in all/.exec(moved.output) ?? [];
    return {
      mib: TOTAL_MIB,
      files,
      items: ITEMS,
      longestWriteMs,
      writesDuringMove,
      pauseMs: Number(pause),
      totalMs: Number(total) * 1000,
      copyMs,
    };
  } finally {
    await source.stop();
    await target.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function moveRows(f: MoveFigures): [string, number, string, number, string, string, boolean][] {
  const owner = `${f.mib} MiB owner: ${f.files} files, ${f.items.toLocaleString('en-US')} items`;
  return [
    [
      `move ${owner}: write pause (requests held, as the source measured)`,
      f.pauseMs,
      'ms',
      f.longestWriteMs,
      'longest write a client waited during the move',
      '≤ 2,000 ms',
      f.pauseMs <= 2_000,
    ],
    [`move ${owner}: total time`, f.totalMs, 'ms', f.copyMs, 'cp -r of its folder', '', true],
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await benchMove(benchProgress('move bench', 3));
  console.log(
    `${f.mib} MiB owner (${f.files} files, ${f.items} items): pause ${f.pauseMs} ms (longest write ` +
      `${f.longestWriteMs.toFixed(0)} ms, ${f.writesDuringMove} writes during the move), total ` +
      `${(f.totalMs / 1000).toFixed(1)} s; cp -r ${(f.copyMs / 1000).toFixed(1)} s`,
  );
}
