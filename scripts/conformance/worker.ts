// A child process that runs conformance cases one at a time for the parent
// (scripts/conformance.ts): a case that hangs or crashes takes down only this
// process, which the parent kills and replaces.
import { runCase } from './run-case.ts';
import type { ConformanceCase } from './cases.ts';

process.on('message', (msg: { id: number; case: ConformanceCase }) => {
  runCase(msg.case).then(
    (outcome) => process.send!({ id: msg.id, outcome }),
    (e: unknown) => process.send!({ id: msg.id, outcome: { status: 'fail', reason: `runner error: ${e instanceof Error ? e.message : String(e)}` } }),
  );
});
process.on('disconnect', () => process.exit(0));
