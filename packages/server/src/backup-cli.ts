/** `pod backup`, `pod restore` (backup.ts), `pod export`, `pod import` (owner-archive.ts): subcommands of `pod`. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HEX_KEY } from '@pod/protocol';
import { backup, restore, type Progress } from './backup.js';
import { exportOwner, importOwner } from './owner-archive.js';
import { defaultConfig } from './config.js';
import { PodError } from './errors.js';

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
/** A line per owner, and one every few seconds while a long copy goes on. */
const PROGRESS_EVERY_MS = 2_000;

function progressLines(verb: string): Progress {
  let last = Date.now();
  return ({ owner, index, owners, bytes, done, gone }) => {
    if (gone) {
      console.error(`skipped owner ${index + 1}/${owners} ${owner.slice(0, 16)}: deleted while the backup ran`);
      return;
    }
    if (!done && Date.now() - last < PROGRESS_EVERY_MS) return;
    last = Date.now();
    console.error(`${verb} owner ${index + 1}/${owners} ${owner.slice(0, 16)}: ${MiB(bytes)}${done ? '' : ' so far'}`);
  };
}

/** Runs a subcommand's work and exits: 0, or 2 with the message for a problem the operator can fix. */
export async function run(work: () => Promise<string>): Promise<never> {
  try {
    console.error(await work());
    process.exit(0);
  } catch (error) {
    if (!(error instanceof PodError)) throw error;
    console.error(`pod: ${error.message}`);
    process.exit(2);
  }
}

export const dataDirOption = () =>
  new Option('--data-dir <path>', 'folder of the owner databases and files')
    .env('POD_DATA_DIR')
    .default(defaultConfig().dataDir);

export const backupCommand = new Command('backup')
  .description(
    'copy every owner (encrypted database and files as they are: no key needed) while the Pod keeps serving; ' +
      'the Pod pauses its checkpoints of an owner while the copy holds its checkpoint.lock',
  )
  .addOption(dataDirOption())
  .addOption(
    new Option('--out <dir>', 'new or empty folder to write the backup to').env('POD_BACKUP_OUT').makeOptionMandatory(),
  )
  .action((flags: { dataDir: string; out: string }) =>
    run(async () => {
      const manifest = await backup(flags.dataDir, flags.out, progressLines('copied'));
      return `backed up ${manifest.owners.length} owners from ${flags.dataDir} to ${flags.out}`;
    }),
  );

export const restoreCommand = new Command('restore')
  .description('put a backup into a new or empty data folder (Pod stopped), every file checked against its manifest')
  .addOption(new Option('--from <dir>', 'a folder written by pod backup').env('POD_RESTORE_FROM').makeOptionMandatory())
  .addOption(dataDirOption())
  .action((flags: { from: string; dataDir: string }) =>
    run(async () => {
      const manifest = await restore(flags.from, flags.dataDir, progressLines('restored'));
      return `restored ${manifest.owners.length} owners from ${flags.from} into ${flags.dataDir}`;
    }),
  );

export const ownerOption = () =>
  new Option('--owner <hash>', "the owner's hash (SHA-256 hex of the owner key: its folder's name)")
    .env('POD_OWNER_HASH')
    .makeOptionMandatory()
    .argParser((hash) => {
      if (!HEX_KEY.test(hash)) throw new InvalidArgumentError('--owner is 64 hexadecimal characters');
      return hash.toLowerCase();
    });

export const exportCommand = new Command('export')
  .description("write one owner's archive (encrypted database and files, manifest of hashes) while the Pod serves")
  .addOption(dataDirOption())
  .addOption(ownerOption())
  .addOption(new Option('--out <file>', 'the archive to write (a tar); must not exist').makeOptionMandatory())
  .action((flags: { dataDir: string; owner: string; out: string }) =>
    run(async () => {
      const partial = `${flags.out}.partial`;
      try {
        await pipeline(
          exportOwner(join(flags.dataDir, flags.owner), flags.owner),
          createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
        );
        await rename(partial, flags.out);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      return `exported owner ${flags.owner} to ${flags.out}`;
    }),
  );

export const importCommand = new Command('import')
  .description('install an archive written by pod export or POST /v4/<owner>/export as an owner with no data yet')
  .addOption(dataDirOption())
  .addOption(ownerOption())
  .addOption(new Option('--from <file>', 'the archive').makeOptionMandatory())
  .action((flags: { dataDir: string; owner: string; from: string }) =>
    run(async () => {
      const manifest = await importOwner(createReadStream(flags.from), flags.dataDir, flags.owner);
      return `imported owner ${flags.owner}: ${manifest.counts.files} files, ${MiB(manifest.counts.bytes)}`;
    }),
  );
