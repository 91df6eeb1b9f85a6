/**
 * `@pod/protocol`, `@pod/client` and `@pod/plugin-kit` as a project outside this repository gets
 * them (packages/client/README.md, "Installing the packages"): `npm pack`ed, the tarballs installed
 * in a temporary folder, then the client's hello world in TypeScript — type-checked as a browser
 * project would be, without Node's types — against a real Pod, and the kit's module and its
 * `pod-plugin` command. Other dependencies (zod, commander, esbuild) come from npm's cache or registry.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestPod } from '../src/testing.js';
import { NO_REGISTRY, ok, run } from './commands.js';
import { KIT_DIR } from './helpers.js';

const ROOT = path.resolve(KIT_DIR, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

test('the packed packages install outside the repository and run the hello world against a Pod', async (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pod-packed-'));
  const pod = await startTestPod();
  t.after(async () => {
    await pod.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const packed = JSON.parse(
    await ok(
      run(
        'npm',
        [
          'pack',
          '--json',
          '--pack-destination',
          tmp,
          '-w',
          'packages/protocol',
          '-w',
          'packages/client',
          '-w',
          'packages/plugin-kit',
        ],
        ROOT,
      ),
    ),
  ) as { filename: string; files: { path: string }[] }[];
  const tarballs = packed.map(({ filename }) => path.join(tmp, filename));
  for (const { filename, files } of packed) {
    assert.ok(
      !files.some((file) => /tsbuildinfo|^dist\/(test|bench|examples)\//.test(file.path)),
      `${filename} carries only what users need`,
    );
    assert.ok(
      files.some((file) => file.path.endsWith('.d.ts')),
      `${filename} carries its types`,
    );
  }

  const app = path.join(tmp, 'app');
  mkdirSync(path.join(app, 'src'), { recursive: true });
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await ok(run('npm', ['install', ...tarballs, '--prefer-offline', '--no-audit', '--no-fund'], app));
  assert.ok(
    !existsSync(path.join(app, 'node_modules/better-sqlite3-multiple-ciphers')),
    'installing the client compiles no SQLite',
  );

  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM'],
        types: [],
        strict: true,
        rootDir: 'src',
        outDir: 'dist',
      },
      include: ['src'],
    }),
  );
  writeFileSync(
    path.join(app, 'src/hello.ts'),
    `import { PodClient, defineItem } from '@pod/client';

class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer' }) {}

const client = new PodClient({ url: ${JSON.stringify(pod.url)} });
await client.addToSchema(Dog);
const max = await client.create(new Dog({ name: 'max', age: 2 }));
const read = await client.get(max.id);
if (!(read instanceof Dog)) throw new Error('not a Dog');
console.log(\`\${read.name} is \${read.age}\`);
`,
  );
  await ok(run(process.execPath, [TSC, '-p', app], app));
  assert.equal((await ok(run(process.execPath, ['dist/hello.js'], app))).trim(), 'max is 2');

  writeFileSync(
    path.join(app, 'kit.mjs'),
    `import { PluginBase } from '@pod/plugin-kit';
import { SqliteStore, pluginClientFromEnv } from '@pod/client/node';
try { new SqliteStore(':memory:'); } catch (error) { console.log(error.message); }
console.log(typeof PluginBase.main, typeof pluginClientFromEnv);
`,
  );
  const kit = await ok(run(process.execPath, ['kit.mjs'], app));
  assert.match(
    kit,
    /SqliteStore needs the package better-sqlite3-multiple-ciphers: `npm install better-sqlite3-multiple-ciphers`/,
  );
  assert.match(kit, /^function function$/m);
  assert.match(await ok(run('npx', ['pod-plugin', '--help'], app, NO_REGISTRY)), /^ {2}new /m);
});
