/**
 * Structural schemas of CustomResourceDefinitions, applied as the API server
 * does on every write: defaults filled in, unknown fields pruned (unless
 * `x-kubernetes-preserve-unknown-fields`), and invalid values refused with
 * 422 and field paths. CEL rules (`x-kubernetes-validations`) are not
 * evaluated here.
 */

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  maxItems?: number;
  minimum?: number;
  format?: string;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

function typeOk(type: string | undefined, v: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

/** Returns the defaulted, pruned value; pushes "path: problem" lines into `errors`. */
export function applySchema(v: unknown, s: Schema, path: string, errors: string[]): unknown {
  if (!typeOk(s.type, v)) {
    errors.push(`${path}: Invalid value: "${typeof v}": ${path} in body must be of type ${s.type}`);
    return v;
  }
  if (s.enum && !s.enum.includes(v)) errors.push(`${path}: Unsupported value: ${JSON.stringify(v)}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (typeof v === 'string') {
    if (s.pattern && !new RegExp(s.pattern).test(v)) errors.push(`${path}: Invalid value: ${JSON.stringify(v)}: ${path} in body should match '${s.pattern}'`);
    if (s.maxLength !== undefined && v.length > s.maxLength) errors.push(`${path}: Too long: may not be more than ${s.maxLength} bytes`);
    if (s.minLength !== undefined && v.length < s.minLength) errors.push(`${path}: Invalid value: ${path} in body should be at least ${s.minLength} chars long`);
    if (s.format === 'date-time' && Number.isNaN(Date.parse(v))) errors.push(`${path}: Invalid value: ${JSON.stringify(v)}: ${path} in body must be of type date-time`);
    if (s.format === 'byte' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errors.push(`${path}: Invalid value: ${path} in body must be of type byte`);
  }
  if (typeof v === 'number' && s.minimum !== undefined && v < s.minimum) errors.push(`${path}: Invalid value: ${v}: ${path} in body should be greater than or equal to ${s.minimum}`);
  if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) errors.push(`${path}: Too many: ${v.length}: must have at most ${s.maxItems} items`);
    return s.items ? v.map((x, i) => applySchema(x, s.items!, `${path}[${i}]`, errors)) : v;
  }
  if (s.type === 'object' && v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const props = s.properties ?? {};
    for (const [k, sub] of Object.entries(props)) {
      if (o[k] === undefined && sub.default !== undefined) out[k] = structuredClone(sub.default);
      else if (o[k] !== undefined) out[k] = applySchema(o[k], sub, path ? `${path}.${k}` : k, errors);
    }
    for (const k of Object.keys(o)) {
      // Unknown fields are pruned, as for every structural schema.
      if (!(k in props) && (s['x-kubernetes-preserve-unknown-fields'] || !s.properties)) out[k] = o[k];
    }
    for (const r of s.required ?? []) if (out[r] === undefined) errors.push(`${path ? `${path}.` : ''}${r}: Required value`);
    return out;
  }
  return v;
}
