/**
 * Reads the files of a zip archive (PKWARE APPNOTE 6.3: end of central directory, central
 * directory, local headers; stored or deflated entries), enough for a JDK's `lib/src.zip` and a Python wheel. Zip64
 * archives are refused with a message.
 *
 * @module
 */

/** One file of an archive. */
export interface ZipEntry {
  readonly name: string;
  /** Uncompressed size in bytes. */
  readonly size: number;
  /** The file's bytes. */
  read(): Promise<Uint8Array>;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The file entries (not folders) of the zip archive `bytes`, in central-directory order. */
export function zipEntries(bytes: Uint8Array<ArrayBuffer>, path: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEnd(view, path);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  if (count === 0xffff || at === 0xffffffff) {
    throw new RangeError(
      `Cannot read zip archive "${path}" as it is a zip64 archive: unpack it and pass the folder`,
    );
  }
  const decoder = new TextDecoder();
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== CENTRAL) {
      throw new SyntaxError(
        `Cannot read zip archive "${path}" as central directory entry ${i} is damaged`,
      );
    }
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extra + comment;
    if (name.endsWith("/")) continue;
    entries.push({
      name,
      size,
      read: () => readEntry(bytes, view, local, compressed, method, `${path}!${name}`),
    });
  }
  return entries;
}

function findEnd(view: DataView, path: string): number {
  for (let at = view.byteLength - 22; at >= Math.max(0, view.byteLength - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD) return at;
  }
  throw new SyntaxError(
    `Cannot read zip archive "${path}" as it has no end of central directory record`,
  );
}

async function readEntry(
  bytes: Uint8Array,
  view: DataView,
  local: number,
  compressed: number,
  method: number,
  where: string,
): Promise<Uint8Array> {
  if (view.getUint32(local, true) !== LOCAL) {
    throw new SyntaxError(`Cannot read "${where}" as its local header is damaged`);
  }
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  const data = bytes.subarray(start, start + compressed);
  if (method === 0) return data;
  if (method !== 8) {
    throw new RangeError(
      `Cannot read "${where}" as its compression method must be 0 or 8 (deflate): current value is ${method}`,
    );
  }
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("deflate-raw"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
