/**
 * TUTORIAL.md, played as its reader plays it, so that it cannot rot: each step's code is the
 * compiled file its comment names (`<!-- examples/… -->` before the block), and from step 1 on each
 * command of its `sh` blocks runs in order — in a project made by `pod-plugin new`, against a real
 * Pod started here (`npm start` starts it again, with the runner and commands the line gives) —
 * and prints each line of the `text` block after it (`…` stands for ids and keys).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startTestPod, type TestPod } from '../src/testing.js';
import { ok, run, started, type Result } from './commands.js';
import { KIT_DIR } from './helpers.js';

const CLI = path.join(KIT_DIR, 'dist/src/cli.js');
const TUTORIAL = readFileSync(path.join(KIT_DIR, 'TUTORIAL.md'), 'utf8');
/** Where the page says the project is, in the Pod's command line. */
const PROJECT_PLACEHOLDER = '/absolute/path/to/demo-plugin';

interface Block {
  lang: string;
  text: string;
  /** The file a code block is, from the comment before it. */
  file?: string;
}

/** A `pod-plugin run` going on while the page answers its requests. */
interface Asking {
  run: ReturnType<typeof started>;
  answers: number;
}

interface Step {
  number: number;
  title: string;
  blocks: Block[];
}

/** The page's steps (`## N. Title`) and their fenced blocks, in order. */
function steps(markdown: string): Step[] {
  return markdown
    .split(/^(?=## \d+\. )/m)
    .filter((part) => part.startsWith('## '))
    .map((part) => {
      const [, number, title] = /^## (\d+)\. (.+)$/m.exec(part)!;
      const blocks = [...part.matchAll(/(?:<!-- (\S+) -->\n)?```(\w+)\n([\s\S]*?)\n```/g)].map(
        ([, file, lang, text]) => ({
          lang: lang!,
          text: text!,
          file,
        }),
      );
      return { number: Number(number), title: title!, blocks };
    });
}

/** A source file as the reader's project has it: the kit imported by its package name. */
const asInProject = (file: string) =>
  readFileSync(path.join(KIT_DIR, file), 'utf8').replaceAll("'../../src/index.js'", "'@pod/plugin-kit'");

/** A command line's words: split at spaces, quotes keep theirs. */
const words = (line: string) =>
  [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map(([, single, double, bare]) => single ?? double ?? bare!);

/** A `sh` block's commands, without comments. */
const commandLines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.replace(/\s{2,}#.*$/, '').trim())
    .filter(Boolean);

/** An expected line as a pattern: the whole line, `…` standing for anything. */
const linePattern = (line: string) =>
  new RegExp(
    `^${line
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*?')}$`,
    'm',
  );

test('every code block is the compiled file it names, and every tutorial file is on the page', () => {
  const shown = steps(TUTORIAL).flatMap((step) => step.blocks.filter((block) => block.file));
  for (const block of shown)
    assert.equal(`${block.text}\n`, asInProject(block.file!), `${block.file} differs from the page`);
  const files = readdirSync(path.join(KIT_DIR, 'examples/tutorial')).map((file) => `examples/tutorial/${file}`);
  for (const file of files)
    assert.ok(
      shown.some((block) => block.file === file),
      `${file} is not on the page`,
    );
  assert.ok(
    shown.some((block) => block.file === 'examples/importer/plugin.ts'),
    "the template's importer is on the page",
  );
});

describe('the tutorial, step by step', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pod-tutorial-'));
  // the reader's Pod folder, where `pod-plugin new ../demo-plugin` runs
  const podFolder = path.join(tmp, 'pod');
  mkdirSync(podFolder);
  const project = path.join(tmp, 'demo-plugin');
  const git = {
    GIT_AUTHOR_NAME: 'Reader',
    GIT_AUTHOR_EMAIL: 'reader@example.com',
    GIT_COMMITTER_NAME: 'Reader',
    GIT_COMMITTER_EMAIL: 'reader@example.com',
  };
  let cwd = podFolder;
  let pod: TestPod | undefined;
  after(async () => {
    await pod?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs one command line of the page; a `pod-plugin run` followed by answers runs in the background. */
  async function play(line: string, following: string[], output: { text: string }, background: { current?: Asking }) {
    const piped = /^echo (\S+) \| (.+)$/.exec(line);
    const input = piped ? `${piped[1]}\n` : undefined;
    const [command, ...args] = words(piped ? piped[2]! : line);
    if (command === 'cd') {
      cwd = path.resolve(cwd, args[0]!);
      return;
    }
    if (command === 'npm' && args[0] === 'start') {
      // the Pod again, with the runner the line gives; the project is where the page says it is
      const option = (name: string) => args[args.indexOf(name) + 1]!;
      const commands = JSON.parse(option('--plugin-commands').replaceAll(PROJECT_PLACEHOLDER, project)) as Record<
        string,
        string[]
      >;
      assert.equal(option('--plugin-runner'), 'process', 'the test starts Pods with the process runner only');
      await pod?.close();
      pod = await startTestPod({ commands });
      return;
    }
    let result: Promise<Result>;
    if (command === 'npx' && args[0] === 'pod-plugin') {
      const env = { POD_URL: pod?.url };
      const nextRun = following.findIndex((next) => / pod-plugin run\b/.test(next));
      const untilNextRun = nextRun < 0 ? following : following.slice(0, nextRun);
      if (args[1] === 'run' && untilNextRun.some((next) => / pod-plugin answer /.test(next))) {
        background.current = { run: started(process.execPath, [CLI, ...args.slice(1)], cwd, env), answers: 0 };
        return;
      }
      let substituted = args.slice(1);
      if (args[1] === 'answer') {
        // each answer after the request it answers: the run prints one "answer:" line per request
        const asking = background.current;
        if (!asking) return assert.fail(`"${line}" answers no run going on`);
        const printed = () => asking.run.state.output;
        const asked = () => printed().match(/^ +answer: +pod-plugin answer /gm)?.length ?? 0;
        for (
          const deadline = Date.now() + 30_000;
          asked() <= asking.answers;
          await new Promise((resolve) => setTimeout(resolve, 50))
        )
          if (Date.now() > deadline) assert.fail(`no request for "${line}" in 30 s; the run printed:\n${printed()}`);
        asking.answers++;
        // RUN and STATE as the run printed them
        const runId = /run ([0-9a-f]{32}) created/.exec(printed())![1]!;
        const state = [...printed().matchAll(/[?&]state=([0-9a-f]+)/g)].at(-1)?.[1] ?? 'STATE';
        substituted = substituted.map((arg) => arg.replace(/^RUN$/, runId).replace('STATE', state));
      }
      result = run(process.execPath, [CLI, ...substituted], cwd, env, input);
    } else if (command === 'npm' && args[0] === 'install')
      result = run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], cwd);
    else if (command === 'npm' || command === 'git') result = run(command, args, cwd, git, input);
    else return assert.fail(`the test does not know how to play "${line}"`);
    output.text += await ok(result);
  }

  for (const step of steps(TUTORIAL).filter(({ number }) => number >= 1)) {
    test(`${step.number}. ${step.title}`, { timeout: 120_000 }, async (t) => {
      pod ??= await startTestPod();
      const output = { text: '' };
      const background: { current?: Asking } = {};
      const settle = async () => {
        if (!background.current) return;
        output.text += await ok(background.current.run.closed);
        background.current = undefined;
      };
      // the step's command lines, across its blocks: a run's answers may come in a later one
      const lines = step.blocks.filter((block) => block.lang === 'sh').flatMap((block) => commandLines(block.text));
      let played = 0;
      // a failed step leaves no run behind: pod-plugin aborts the run it started when interrupted
      t.after(() => background.current?.run.child.kill('SIGINT'));
      for (const block of step.blocks) {
        if (block.lang === 'ts' && block.file?.startsWith('examples/tutorial/'))
          writeFileSync(path.join(project, 'src/plugin.ts'), `${block.text}\n`);
        if (block.lang === 'sh')
          for (const end = played + commandLines(block.text).length; played < end; played++)
            await play(lines[played]!, lines.slice(played + 1), output, background);
        if (block.lang === 'text') {
          await settle();
          for (const line of block.text.split('\n'))
            assert.match(output.text, linePattern(line), `step ${step.number} printed no "${line}"`);
          output.text = '';
        }
      }
      await settle();
    });
  }
});
