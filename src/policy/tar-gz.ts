/**
 * Small tar.gz helpers for bundles: a list of files in, bytes out, and back.
 * Entries carry a fixed mtime and mode so that the same files always give the
 * same archive bytes.
 */
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface TarFile {
  name: string;
  content: Uint8Array;
}

/** Refuse archives that inflate past this (a bundle is a wasm module and its data). */
export const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;

export async function packTarGz(files: TarFile[]): Promise<Uint8Array> {
  const pack = tar.pack();
  for (const file of files) {
    pack.entry({ name: file.name, size: file.content.byteLength, mode: 0o644, mtime: new Date(0) }, Buffer.from(file.content));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** The regular files of a tar.gz, names normalised to start with `/` (OPA writes `/data.json`, other tools `data.json`). */
export async function unpackTarGz(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const tarBytes = gunzipSync(bytes, { maxOutputLength: MAX_ARCHIVE_BYTES });
  const extract = tar.extract();
  const files = new Map<string, Buffer>();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const type = entry.header.type ?? 'file';
      if (type === 'file' || type === 'contiguous-file') {
        files.set('/' + entry.header.name.replace(/^\.?\/+/, ''), Buffer.concat(chunks));
      }
    }
  })();
  Readable.from([tarBytes]).pipe(extract);
  await done;
  return files;
}
