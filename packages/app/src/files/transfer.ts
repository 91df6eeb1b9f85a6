/**
 * Files between the browser and the Pod: an upload makes the File item (name, type, size; pixels for an
 * image) and sends the bytes, hashed here with WebCrypto by the client; a PNG or JPEG also gets a Photo
 * item with its `file` edge (as `createPhoto` makes them) so it shows in the photo grid. A download
 * fetches the bytes (checked against their sha256 by the client) and saves them under the File's name.
 */
import { File as FileItem, Photo, type PodClient, imageInfo, sha256Hex } from '@pod/client';

/** The File properties the views read; the Pod's own schema declares only `sha256`. */
const schemaDeclared = new WeakMap<PodClient, Promise<void>>();
function declareSchema(client: PodClient): Promise<void> {
  let declared = schemaDeclared.get(client);
  if (!declared) {
    declared = client.addToSchema(FileItem, Photo);
    declared.catch(() => schemaDeclared.delete(client));
    schemaDeclared.set(client, declared);
  }
  return declared;
}

export type UploadStage = 'reading' | 'uploading' | 'done';

/** Stores one file picked or dropped in the browser; `onStage` tells where it is. */
export async function uploadBrowserFile(
  client: PodClient,
  picked: globalThis.File,
  onStage: (stage: UploadStage) => void,
): Promise<FileItem> {
  onStage('reading');
  const bytes = new Uint8Array(await picked.arrayBuffer());
  const image = imageInfo(bytes);
  const sha256 = await sha256Hex(bytes);
  await declareSchema(client);
  // Bytes stored before keep their items (a second Photo of them would show twice); only the bytes are sent.
  const [existing] = await client.search(FileItem, { sha256 });
  onStage('uploading');
  const file = await client.uploadFile(bytes, {
    sha256,
    file: new FileItem({
      filename: picked.name,
      mimeType: picked.type || image?.mimeType || 'application/octet-stream',
      size: bytes.byteLength,
      width: image?.width,
      height: image?.height,
    }),
  });
  if (image && !existing) {
    const photo = new Photo({ width: image.width, height: image.height });
    await client.bulk({ createItems: [photo], createEdges: [{ source: photo, name: 'file', target: file }] });
  }
  onStage('done');
  return file;
}

/** Saves bytes under a name through a blob URL, as the browser saves any download. */
export function saveBytes(bytes: Uint8Array, filename: string, mimeType: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  // the download has its own copy once started; the URL is freed after the click has been handled
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export interface StoredFile {
  sha256: string;
  filename?: string | null;
  mimeType?: string | null;
}

/** A File's bytes, downloaded and saved under its filename (else its sha256). */
export async function downloadFile(client: PodClient, file: StoredFile): Promise<void> {
  const bytes = await client.getFile(file.sha256);
  saveBytes(bytes, file.filename || file.sha256, file.mimeType || 'application/octet-stream');
}
