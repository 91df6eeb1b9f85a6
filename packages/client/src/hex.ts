/** Bytes as lowercase hex: how the Pod writes keys, ids and hashes. */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Hex from a CSPRNG: WebCrypto's getRandomValues, present in Node 22+ and every browser. */
export const randomHex = (bytes: number) => toHex(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
