// A file system seam that sees every fdatasync of the ledger's files.
import { nodeLedgerFs, type LedgerFs } from '../../../src/evidence/ledger-fs.ts';

/**
 * The real file system, each file's datasync made through `around`: it gets
 * the file's path and the real datasync, and may note what was synced after
 * calling it or fail instead of calling it. Its files say they do not sync on
 * write, so the ledger syncs each commit with a datasync of its own (as it
 * would on a file without O_DSYNC) and every commit passes through `around`.
 */
export function datasyncFs(around: (path: string, datasync: () => Promise<void>) => Promise<void>): LedgerFs {
  return {
    ...nodeLedgerFs,
    openAppend: async (path) => {
      const file = await nodeLedgerFs.openAppend(path);
      return { ...file, syncsOnWrite: false, datasync: () => around(path, () => file.datasync()) };
    },
  };
}
