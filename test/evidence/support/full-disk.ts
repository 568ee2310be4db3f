// A file system seam whose disk fills up on demand.
import { nodeLedgerFs, type LedgerFs } from '../../../src/evidence/ledger-fs.ts';

/** The real file system, whose appends fail with ENOSPC after `allow` bytes while `full` is set. */
export function fullDiskFs(state: { full: boolean; allow: number }): LedgerFs {
  return {
    ...nodeLedgerFs,
    openAppend: async (path) => {
      const file = await nodeLedgerFs.openAppend(path);
      return {
        ...file,
        append: async (bytes) => {
          if (!state.full) return file.append(bytes);
          if (state.allow > 0) {
            const n = await file.append(bytes.subarray(0, Math.min(state.allow, bytes.byteLength)));
            state.allow -= n;
            return n;
          }
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      };
    },
  };
}
