/** A real Pod for the tests, in this process, on a loopback port, with a fresh data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPod, defaultConfig } from '@pod/server';

export interface TestPod {
  url: string;
  close(): Promise<void>;
}

export async function startPod(): Promise<TestPod> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-client-test-'));
  const app = await createPod({ ...defaultConfig(), dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
