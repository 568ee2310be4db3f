// A child process that runs conformance cases one at a time for the parent
// (scripts/conformance.ts): a case that hangs or crashes takes down only this
// process, which the parent kills and replaces. It says `ready` once the
// compiler is loaded and warm, so that start-up never counts against a
// case's timeout.
import { runCase, type RunOptions } from './run-case.ts';
import type { ConformanceCase } from './cases.ts';

process.on('message', (msg: { id: number; case: ConformanceCase; options: RunOptions }) => {
  runCase(msg.case, msg.options).then(
    (outcome) => process.send!({ id: msg.id, outcome }),
    (e: unknown) => process.send!({ id: msg.id, outcome: { status: 'fail', reason: `runner error: ${e instanceof Error ? e.message : String(e)}` } }),
  );
});
process.on('disconnect', () => process.exit(0));

const warmUp: ConformanceCase = {
  file: 'warm-up',
  folder: 'warm-up',
  note: 'warm-up',
  query: 'data.warm.p = x',
  modules: ['package warm\n\np := 1\n'],
};
runCase(warmUp).finally(() => process.send!({ ready: true }));
