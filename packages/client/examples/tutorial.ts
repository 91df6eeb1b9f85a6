/**
 * The plugin tutorial in TypeScript: hello world with a Dog, edges, search, an incremental
 * import, a file and a photo. Run it against a Pod with `npm start` running:
 * `node packages/client/dist/examples/tutorial.js [url]`; the tests run `tutorial(url)`.
 */
import { deflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { Account, EmailMessage, File, Person, Photo, PodClient, defineItem } from '@pod/client';

// 1. A type of our own, declared once: its properties and their value types.
export class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer' }) {}

export async function tutorial(url: string, log: (line: string) => void = console.log) {
  // Keys are generated when not given: a new, empty database. Keep them to come back to it.
  const client = new PodClient({ url });

  // ---- hello world ----
  await client.addToSchema(Dog);
  const dog2 = await client.create(new Dog({ name: 'bob', age: 3 }));
  const dogFromDb = await client.get(dog2.id);
  log(String(dogFromDb)); // Dog (#9c97feace45561c1cc9c0eec302bfd07)

  // ---- edges: an email and its sender ----
  await client.addToSchema(Person, EmailMessage);
  const email = await client.create(new EmailMessage({ subject: 'Hello', content: 'Hi Bob!' }));
  const alice = await client.create(new Person({ firstName: 'Alice', lastName: 'X' }));
  // Create both items before the edge: an edge to an item the Pod lacks fails (404).
  await client.createEdge(email, 'sender', alice);
  const emailFromDb = (await client.get(email.id, { edges: true })) as EmailMessage;
  const sender = emailFromDb.sender[0]!;
  log(`"${emailFromDb.subject}" from ${sender.firstName} ${sender.lastName}`);

  // ---- search ----
  const bobs = await client.search(Dog, { name: 'bob' });
  const allPeople = await client.search(Person);
  log(`${bobs.length} dog named bob, ${allPeople.length} person`);

  // ---- an incremental import: each run continues after the last account it imported ----
  await client.addToSchema(Account);
  const service = [
    { handle: 'ann', firstName: 'Ann' },
    { handle: 'ben', firstName: 'Ben' },
    { handle: 'cat', firstName: 'Cat' },
  ];
  const importAccounts = async (available: typeof service) => {
    const last = await client.searchLastAdded(Account, { service: 'demo' });
    const fresh = available.slice(last ? available.findIndex((entry) => entry.handle === last.handle) + 1 : 0);
    const accounts = fresh.map((entry) => new Account({ service: 'demo', handle: entry.handle }));
    const people = fresh.map((entry) => new Person({ firstName: entry.firstName }));
    // Every Account gets a Person, linked by `owner`; one bulk, applied atomically.
    await client.bulk({
      createItems: [...people, ...accounts],
      createEdges: accounts.map((account, i) => ({ source: account, name: 'owner', target: people[i]! })),
    });
    return fresh.length;
  };
  const firstRun = await importAccounts(service.slice(0, 2));
  const secondRun = await importAccounts(service);
  log(`imported ${firstRun} accounts, then ${secondRun} more`);

  // ---- a file ----
  await client.addToSchema(File);
  const bytes = new TextEncoder().encode('a video, say');
  const file = await client.uploadFile(bytes, { file: new File({ filename: 'video.mp4' }) });
  const fileText = new TextDecoder().decode(await client.getFile(file));
  log(`stored ${file.filename} as ${file.sha256}`);

  // ---- a photo: 640×640 random grey pixels ----
  await client.addToSchema(Photo);
  const photo = await client.createPhoto(randomPng(640, 640), { filename: 'noise.png' });
  const fetched = await client.getPhoto(photo.id, { size: 640 });
  log(`photo ${fetched.photo.width}×${fetched.photo.height}, ${fetched.data.length} bytes`);

  return { client, dogFromDb, sender, bobs, allPeople, runs: [firstRun, secondRun], file, fileText, photo, fetched };
}

/** A grayscale PNG of random pixels (the Python tutorial used numpy for this). */
export function randomPng(width: number, height: number): Uint8Array {
  const rows = new Uint8Array((width + 1) * height);
  // getRandomValues fills at most 64 KiB a call.
  for (let offset = 0; offset < rows.length; offset += 65_536)
    globalThis.crypto.getRandomValues(rows.subarray(offset, offset + 65_536));
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0; // filter type: none
  const header = new Uint8Array(13);
  new DataView(header.buffer).setUint32(0, width);
  new DataView(header.buffer).setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array()),
  ]);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await tutorial(process.argv[2] ?? 'http://localhost:3030');
