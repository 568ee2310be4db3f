// Appends to a ledger as fast as it can from several concurrent "requests",
// printing `executed <decisionId>` for each action only once its intent is
// durable, the way the gate does. The crash test kills it with SIGKILL.
import { LedgerRecorder } from '../../../src/evidence/ledger-recorder.ts';
import { loadHeadSigner } from '../../../src/evidence/signing.ts';
import { sampleIntent, sampleOutcome } from './records.ts';

const [path, round, keyFile] = process.argv.slice(2);
const signer = keyFile ? await loadHeadSigner(keyFile) : undefined;
// LEDGER_DURABILITY=write: each intent resolves once written, not once durable.
const durability = process.env.LEDGER_DURABILITY === 'write' ? 'write' : 'fsync';
const recorder = new LedgerRecorder({ path: path!, maxFileBytes: 256 * 1024, durability, ...(signer ? { signer } : {}) });
await recorder.open();
process.stdout.write('ready\n');
let next = 0;
async function worker(): Promise<never> {
  for (;;) {
    const i = next++;
    const id = `r${round}-${i}`;
    await recorder.intent(sampleIntent(i, { decisionId: id }));
    process.stdout.write(`executed ${id}\n`);
    await recorder.outcome({ ...sampleOutcome(i), decisionId: id });
  }
}
await Promise.all(Array.from({ length: 16 }, () => worker()));
