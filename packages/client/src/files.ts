/** Bytes, hashes and image headers, with WebCrypto and nothing Node-only. */
import { FileIntegrityError } from './errors.js';
import { toHex } from './hex.js';

/** What `uploadFile` and `createPhoto` take as a file's bytes. */
export type Bytes = Uint8Array | ArrayBuffer | Blob;

export async function toBytes(data: Bytes): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  return new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer());
}

/** SHA-256 as lowercase hex, the form the Pod names files by. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

/**
 * The body of a `get_file` answer, once it has arrived whole and hashes to `sha256`; else a
 * FileIntegrityError. A timeout or abort while reading stays what it is.
 */
export async function verifiedFile(response: Response, sha256: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    if ((cause as Error).name === 'TimeoutError' || (cause as Error).name === 'AbortError') throw cause;
    throw new FileIntegrityError(
      sha256,
      `the download of file ${sha256} stopped before its end: the connection dropped, or the Pod cut it off because its stored copy fails its integrity check (see the Pod's log)`,
      { truncated: true, cause },
    );
  }
  const actualSha256 = await sha256Hex(bytes);
  if (actualSha256 !== sha256)
    throw new FileIntegrityError(
      sha256,
      `the download of file ${sha256} has sha256 ${actualSha256}: these are not the file's bytes`,
      { actualSha256 },
    );
  return bytes;
}

export interface ImageInfo {
  mimeType: string;
  width: number;
  height: number;
}

/** Type and size from a PNG or JPEG header; undefined for anything else. No pixel is decoded. */
export function imageInfo(bytes: Uint8Array): ImageInfo | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // PNG: signature, then the IHDR chunk with width and height as 32-bit big-endian.
  if (bytes.length >= 24 && view.getUint32(0) === 0x89504e47 && view.getUint32(12) === 0x49484452)
    return { mimeType: 'image/png', width: view.getUint32(16), height: view.getUint32(20) };
  // JPEG: walk the segments to the first start-of-frame marker (SOF0–SOF15 but DHT, JPG and DAC).
  if (bytes.length < 4 || view.getUint16(0) !== 0xffd8) return undefined;
  for (let offset = 2; offset + 9 <= bytes.length; ) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = view.getUint8(offset + 1);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { mimeType: 'image/jpeg', height: view.getUint16(offset + 5), width: view.getUint16(offset + 7) };
    offset += 2 + view.getUint16(offset + 2);
  }
  return undefined;
}
