// The child process of SandboxedWasm (./sandboxed-wasm.ts): evaluates
// modules `opa build` compiled, one request at a time. They have no step
// budget and some loop forever, so the parent may kill this process at any
// moment; nothing here outlives a request but the loaded engines.
import { OpaWasmEngine } from '../../../src/policy/engine.ts';
import type { CompiledBundle } from '../../../src/policy/types.ts';
import { codeAndMessage, evaluateDocument, type Outcome } from './outcome.ts';

interface Request {
  id: number;
  bundle: CompiledBundle;
  rules: string[] | undefined;
  input: unknown;
}

const engines = new Map<string, OpaWasmEngine>();

async function answer(req: Request): Promise<Outcome> {
  let engine = engines.get(req.bundle.digest);
  if (!engine) {
    engine = new OpaWasmEngine({ strictBuiltinErrors: false });
    try {
      await engine.load(req.bundle);
    } catch (e) {
      return { kind: 'compile-error', ...codeAndMessage(e) };
    }
    engines.clear();
    engines.set(req.bundle.digest, engine);
  }
  return evaluateDocument(engine, req.rules, req.input);
}

process.on('message', (req: Request) => {
  void answer(req).then((outcome) => process.send!({ id: req.id, outcome }));
});
process.on('disconnect', () => process.exit(0));
