import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonRpc, buildMcpAction, rewriteMessage, expectsReply, RESPONSE_METHOD } from '../../src/gate/mcp-action.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('tools/call becomes one action with the tool name and arguments', () => {
  const { batch, messages } = parseJsonRpc('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"/prod/x"}}}');
  assert.equal(batch, false);
  const a = buildMcpAction('fs', messages[0]!);
  assert.deepEqual(a, { type: 'mcp', tool: 'write_file', mcp: { server: 'fs', method: 'tools/call', id: 7, name: 'write_file', arguments: { path: '/prod/x' } } });
});

test('a batch gives one action per message, other methods and replies included', () => {
  const { batch, messages } = parseJsonRpc(
    '[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"s1","result":{}}]',
  );
  assert.equal(batch, true);
  const actions = messages.map((m) => buildMcpAction('fs', m));
  assert.deepEqual(actions.map((a) => a.mcp!.method), ['tools/list', 'notifications/initialized', RESPONSE_METHOD]);
  assert.deepEqual(messages.map(expectsReply), [true, false, false]);
});

test('malformed JSON-RPC is refused with BAD_JSONRPC, malformed JSON with BAD_REQUEST', () => {
  const cases = ['[]', '{"id":1,"method":"x"}', '{"jsonrpc":"2.0","id":{},"method":"x"}', '{"jsonrpc":"2.0","id":1}', '{"jsonrpc":"2.0","method":""}', '[1]'];
  for (const c of cases) assert.throws(() => parseJsonRpc(c), (e: any) => e.code === ErrorCodes.BAD_JSONRPC, c);
  assert.throws(() => parseJsonRpc('{"jsonrpc":"2.0",'), (e: any) => e.code === ErrorCodes.BAD_REQUEST);
  const noName = parseJsonRpc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}').messages[0]!;
  assert.throws(() => buildMcpAction('fs', noName), (e: any) => e.code === ErrorCodes.BAD_JSONRPC);
});

test('rewriteMessage carries a computed name and arguments into the message', () => {
  const m = parseJsonRpc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy","arguments":{"env":"prod"},"_meta":{"k":1}}}').messages[0]!;
  const a = buildMcpAction('ops', m);
  a.mcp!.arguments = { env: 'prod', dryRun: true };
  const r = rewriteMessage(m, a) as any;
  assert.deepEqual(r.params, { name: 'deploy', arguments: { env: 'prod', dryRun: true }, _meta: { k: 1 } });
});
