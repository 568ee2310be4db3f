/**
 * The shipped form of a compiled bundle: an OPA-format bundle tar.gz holding
 * `/policy.wasm`, `/data.json` and `/.manifest`, where the manifest's
 * `revision` is the policy digest and `metadata.portcullis` carries what OPA's
 * format has no place for (tool catalog, tests, compiler). Reading recomputes
 * the digest and refuses an archive whose content does not match it.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { canonicalJson } from '../evidence/canonical.ts';
import { isPolicyDigest, policyDigest } from './digest.ts';
import { parseManifest, parseTests } from './bundle-manifest.ts';
import { packTarGz, unpackTarGz } from './tar-gz.ts';
import { SIGNATURES_PATH, verifyBundleSignature, type BundleSigner, type BundleVerificationKey } from './bundle-signing.ts';
import type { CompiledBundle } from './types.ts';

const WASM_PATH = '/policy.wasm';

interface OpaManifest {
  revision: string;
  roots: string[];
  wasm: { entrypoint: string; module: string }[];
  metadata: { portcullis: { tools: unknown; tests: unknown; compiler: string; mode?: string } };
}

/**
 * What identifies a served bundle: its digest, plus `;mode=observe` for a
 * bundle that asks for observe mode. The digest is the policy's (wasm and
 * data) and stays so in the evidence; the tag also changes when only the mode
 * does, so that change reaches sidecars too (ETag / If-None-Match of the
 * bundle server). Enforce is what a bundle without a mode means: same tag.
 */
export function bundleTag(bundle: Pick<CompiledBundle, 'digest' | 'mode'>): string {
  return bundle.mode === 'observe' ? `${bundle.digest};mode=observe` : bundle.digest;
}

export interface WriteBundleArchiveOptions {
  /** Adds `/.signatures.json` (bundle-signing.ts): the controller signs every bundle it serves. */
  signer?: BundleSigner | undefined;
}

export async function writeBundleArchive(bundle: CompiledBundle, options: WriteBundleArchiveOptions = {}): Promise<Uint8Array> {
  const manifest: OpaManifest = {
    revision: bundle.digest,
    // The bundle owns the whole data tree, as `opa build` without --root.
    roots: [''],
    wasm: bundle.entrypoints.map((entrypoint) => ({ entrypoint, module: WASM_PATH })),
    metadata: { portcullis: { tools: bundle.tools, tests: bundle.tests, compiler: bundle.compiler, ...(bundle.mode ? { mode: bundle.mode } : {}) } },
  };
  const text = (v: unknown) => new TextEncoder().encode(canonicalJson(v));
  const files = [
    { name: '/.manifest', content: text(manifest) },
    { name: '/data.json', content: text(bundle.data) },
    { name: WASM_PATH, content: bundle.wasm },
  ];
  if (options.signer) files.push({ name: SIGNATURES_PATH, content: options.signer.signatures(new Map(files.map((f) => [f.name, f.content]))) });
  return packTarGz(files);
}

function refuse(problem: string): PortcullisError {
  return new PortcullisError(ErrorCodes.BUNDLE_INVALID, `bundle archive: ${problem}`);
}

function parseJsonFile(files: Map<string, Buffer>, name: string): unknown {
  const content = files.get(name);
  if (!content) throw refuse(`${name} is missing`);
  try {
    return JSON.parse(content.toString('utf8'));
  } catch (e) {
    throw refuse(`${name} is not valid JSON: ${(e as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ReadBundleArchiveOptions {
  /**
   * Also accept a bundle written by `opa build -t wasm`, whose revision is not
   * a Portcullis digest: its digest is computed, there being none to check.
   * Off by default, so that an archive cannot skip the check by dropping its revision.
   */
  acceptOpaBundles?: boolean;
  /**
   * Accept the archive only when one of these keys signed it (bundle-signing.ts),
   * before anything in it is read; throws BUNDLE_SIGNATURE otherwise. Unset: no
   * signature is needed (local policy folders, `portcullis eval`).
   */
  verificationKeys?: readonly BundleVerificationKey[] | undefined;
}

async function unpack(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  try {
    return await unpackTarGz(bytes);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BUNDLE_INVALID, `bundle archive is not a readable tar.gz: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/** The entrypoints `/.manifest` names, each for `/policy.wasm`. */
function entrypointsOf(manifest: Record<string, unknown>): string[] {
  const wasmEntries = Array.isArray(manifest.wasm) ? manifest.wasm : [];
  const entrypoints = wasmEntries.map((w, i) => {
    if (!isObject(w) || typeof w.entrypoint !== 'string') throw refuse(`/.manifest: wasm[${i}].entrypoint must be a string`);
    if (w.module !== undefined && w.module !== WASM_PATH) throw refuse(`/.manifest: wasm[${i}].module must be ${WASM_PATH}`);
    return w.entrypoint;
  });
  if (entrypoints.length === 0) throw refuse('/.manifest names no wasm entrypoint');
  return entrypoints;
}

/** What `metadata.portcullis` carries: catalog, tests, compiler and mode (none of it for a bundle `opa build` wrote). */
function portcullisMetadata(manifest: Record<string, unknown>): Pick<CompiledBundle, 'tools' | 'tests' | 'compiler' | 'mode'> {
  const meta = isObject(manifest.metadata) && isObject(manifest.metadata.portcullis) ? manifest.metadata.portcullis : {};
  const tools = parseManifest('/.manifest metadata.portcullis', { tools: meta.tools ?? [] }).tools;
  const tests = parseTests('/.manifest metadata.portcullis', meta.tests ?? []);
  const compiler = typeof meta.compiler === 'string' ? meta.compiler : 'opa';
  if (meta.mode !== undefined && meta.mode !== 'enforce' && meta.mode !== 'observe') throw refuse('/.manifest metadata.portcullis.mode must be enforce or observe');
  return { tools, tests, compiler, ...(meta.mode === undefined ? {} : { mode: meta.mode as 'enforce' | 'observe' }) };
}

/** Whether the manifest's revision must be the digest; false only for an `opa build` bundle when those are accepted. Throws when it must and is not one. */
function revisionIsDigest(manifest: Record<string, unknown>, options: ReadBundleArchiveOptions): boolean {
  if (typeof manifest.revision === 'string' && isPolicyDigest(manifest.revision)) return true;
  if (options.acceptOpaBundles && !(isObject(manifest.metadata) && isObject(manifest.metadata.portcullis))) return false;
  throw refuse('/.manifest revision must be the policy digest (sha256:<hex>)');
}

export async function readBundleArchive(bytes: Uint8Array, options: ReadBundleArchiveOptions = {}): Promise<CompiledBundle> {
  const files = await unpack(bytes);
  if (options.verificationKeys) verifyBundleSignature(files, options.verificationKeys);
  const manifest = parseJsonFile(files, '/.manifest');
  if (!isObject(manifest)) throw refuse('/.manifest must be a JSON object');
  const data = files.has('/data.json') ? parseJsonFile(files, '/data.json') : {};
  if (!isObject(data)) throw refuse('/data.json must be a JSON object');
  const entrypoints = entrypointsOf(manifest);
  const wasm = files.get(WASM_PATH);
  if (!wasm) throw refuse(`${WASM_PATH} is missing`);
  const { mode, ...meta } = portcullisMetadata(manifest);
  const digest = policyDigest(wasm, data);
  if (!revisionIsDigest(manifest, options)) return { wasm: new Uint8Array(wasm), data, entrypoints, ...meta, digest };
  if (manifest.revision !== digest) {
    throw new PortcullisError(
      ErrorCodes.BUNDLE_DIGEST_MISMATCH,
      `bundle archive content does not match its digest: the manifest says ${String(manifest.revision)}, the content hashes to ${digest}`,
      { expected: manifest.revision, actual: digest },
    );
  }
  return { wasm: new Uint8Array(wasm), data, entrypoints, ...meta, digest, ...(mode ? { mode } : {}) };
}
