import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from './helpers.ts';

describe('virtual and base documents', () => {
  it('iterates a package mixing rules and base data, with its base data', async () => {
    const srcs = [
      `package app
limit := 10
users contains "ann"
`,
      `package test
keys := [k | some k, _ in data.app]
vals := {k: v | some k; v := data.app[k]; k != "users"}
`,
    ];
    const data = { app: { region: 'eu' } };
    const r = await evaluate(srcs, ['test/keys', 'test/vals'], { data });
    assert.deepEqual(r['test/keys'], ['limit', 'region', 'users']);
    assert.deepEqual(r['test/vals'], { limit: 10, region: 'eu' });
  });

  it('builds a package with no rules defined as an empty object', async () => {
    const srcs = [
      `package empty
never if false
`,
      `package test
p := data.empty
`,
    ];
    assert.deepEqual((await evaluate(srcs, ['test/p']))['test/p'], {});
  });

  it('reads base data below a path that has rules elsewhere', async () => {
    const srcs = [
      `package cfg.rules
x := 1
`,
      `package test
p := data.cfg.settings.level
`,
    ];
    const r = await evaluate(srcs, ['test/p'], { data: { cfg: { settings: { level: 3 } } } });
    assert.equal(r['test/p'], 3);
  });

  it('raises a conflict when object rules give one key two values', async () => {
    const src = `package test
p[k] := v if {
	some v in [1, 2]
	k := "same"
}
`;
    await assert.rejects(() => evaluate([src], ['test/p']), /conflict|unique/i);
  });
});
