/** PolicyBundle objects for controller tests: plain Rego the compiler handles today. */
import type { PolicyBundle } from '../../src/controller/resources.ts';

export function policyBundle(name: string, namespace: string, opts: { allowMethod?: string; regoExtra?: string; broken?: boolean; failingTest?: boolean } = {}): PolicyBundle {
  const method = opts.allowMethod ?? 'GET';
  const source = opts.broken
    ? 'package portcullis\n\ndecision := {"effect": "allow" if {\n'
    : `package portcullis

default decision := {"effect": "deny", "reason": "not allowed"}

decision := {"effect": "allow", "reason": "read"} if {
  input.action.http.method == "${method}"
}
${opts.regoExtra ?? ''}`;
  return {
    apiVersion: 'portcullis.dev/v1alpha1',
    kind: 'PolicyBundle',
    metadata: { name, namespace },
    spec: {
      entrypoint: 'portcullis/decision',
      mode: 'enforce',
      modules: [{ path: 'decision.rego', source }],
      data: {},
      tests: [
        { name: 'allowed method', input: { action: { type: 'http', http: { method } } }, want: { effect: 'allow' } },
        { name: 'other method', input: { action: { type: 'http', http: { method: 'DELETE' } } }, want: { effect: opts.failingTest ? 'allow' : 'deny' } },
      ],
    },
  };
}
