// A file system seam that sees every fdatasync of the ledger's files.
import { nodeLedgerFs, type LedgerFs } from '../../../src/evidence/ledger-fs.ts';

/**
 * The real file system, each file's datasync made through `around`: it gets
 * the file's path and the real datasync, and may note what was synced after
 * calling it or fail instead of calling it.
 */
export function datasyncFs(around: (path: string, datasync: () => Promise<void>) => Promise<void>): LedgerFs {
  return {
    ...nodeLedgerFs,
    openAppend: async (path) => {
      const file = await nodeLedgerFs.openAppend(path);
      return { ...file, datasync: () => around(path, () => file.datasync()) };
    },
  };
}
