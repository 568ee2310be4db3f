// A file system seam whose disk fills up on demand.
import { nodeLedgerFs, type LedgerFs } from '../../../src/evidence/ledger-fs.ts';

/** The real file system, whose writes fail with ENOSPC after `allow` bytes while `full` is set. */
export function fullDiskFs(state: { full: boolean; allow: number }): LedgerFs {
  return {
    ...nodeLedgerFs,
    openWrite: async (path) => {
      const file = await nodeLedgerFs.openWrite(path);
      return {
        ...file,
        write: async (bytes, position) => {
          if (!state.full) return file.write(bytes, position);
          if (state.allow > 0) {
            const n = await file.write(bytes.subarray(0, Math.min(state.allow, bytes.byteLength)), position);
            state.allow -= n;
            return n;
          }
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      };
    },
  };
}
