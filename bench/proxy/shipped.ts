/**
 * Portcullis as it ships, for the proxy benchmark: the compiled dist/ in a
 * package laid out as `npm pack` makes it (bin, dist, build/runtime.wasm,
 * policies; no src/, so bin/portcullis.js runs dist/ with no TypeScript
 * loader), built once per content of the sources and kept in the system temp
 * folder; the shipped policies with their catalog pointed at the benchmark's
 * upstream, compiled into a bundle archive by the package's own `compile`.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { parse, stringify } from 'yaml';
import { readBundleArchive, writeBundleArchive } from '../../src/policy/bundle-archive.ts';
import { createBundleSigner } from '../../src/policy/bundle-signing.ts';
import { generateServingCertificate } from '../../src/controller/certs/x509.ts';

const run = promisify(execFile);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out.sort();
}

/** A digest of everything the compiled package is made from. */
async function sourceDigest(root: string): Promise<string> {
  const h = createHash('sha256');
  const files = [...(await filesUnder(join(root, 'src'))), ...(await filesUnder(join(root, 'bin'))), join(root, 'build', 'runtime.wasm'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'), join(root, 'package.json')];
  for (const f of files) h.update(relative(root, f)).update('\0').update(await readFile(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

export interface ShippedPackage {
  /** The package folder: bin/, dist/, build/, policies/, node_modules → the checkout's. */
  dir: string;
  bin: string;
  /** The benchmark's helper servers, compiled to plain JavaScript inside the package folder. */
  servers: string;
  /** How the package was obtained, for the report. */
  provenance: string;
}

/**
 * The compiled package for the current sources, built when there is none.
 * tsc emits even when the sources do not type-check (someone may be
 * mid-edit); that is reported, and the run goes on with what was emitted.
 */
export async function shippedPackage(root: string, log: (line: string) => void): Promise<ShippedPackage> {
  const digest = await sourceDigest(root);
  const cache = join(tmpdir(), 'portcullis-bench');
  const dir = join(cache, digest);
  const done = join(dir, '.complete');
  let provenance = `dist/ compiled from the sources (digest ${digest}), reused`;
  if (!existsSync(done)) {
    // Packages of older sources are of no further use.
    await mkdir(cache, { recursive: true });
    for (const old of await readdir(cache)) if (old !== 'build') await rm(join(cache, old), { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    log(`proxy: compiling dist/ from the current sources into ${dir} (once per source digest) …`);
    const started = performance.now();
    // Incremental in a build folder of its own: after a small change to the sources this takes seconds.
    const build = join(cache, 'build');
    let typeErrors = '';
    try {
      await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(build, 'dist'), '--incremental', '--tsBuildInfoFile', join(build, 'tsbuildinfo')], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      typeErrors = String((e as { stdout?: string }).stdout ?? e).split('\n')[0] ?? '';
      if (!existsSync(join(build, 'dist', 'cli', 'main.js'))) throw new Error(`compiling dist/ failed: ${typeErrors}`);
    }
    await cp(join(build, 'dist'), join(dir, 'dist'), { recursive: true });
    for (const part of ['bin', 'build', 'policies', 'package.json']) await cp(join(root, part), join(dir, part), { recursive: true });
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(done, typeErrors);
    provenance = `dist/ compiled from the sources (digest ${digest}) in ${((performance.now() - started) / 1000).toFixed(0)} s`;
  }
  const typeErrors = await readFile(done, 'utf8');
  if (typeErrors) provenance += `; the sources did not type-check when compiled (${typeErrors}), the emitted JavaScript was used`;
  const servers = join(dir, 'bench-servers.mjs');
  const source = await readFile(join(root, 'bench', 'proxy', 'servers.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
  await writeFile(servers, js);
  return { dir, bin: join(dir, 'bin', 'portcullis.js'), servers, provenance };
}

/** Where each tool of the shipped catalog goes in the benchmark. */
export interface Catalog {
  http: string;
  mcp: string;
}

/**
 * The shipped policies/ copied to `into`, the catalog's URLs replaced, and
 * compiled with the package's `portcullis compile`, and signed with a fresh
 * ed25519 key; returns the archive's path and the public key's PEM.
 */
export async function compiledBundle(pkg: ShippedPackage, into: string, catalog: Catalog): Promise<{ archive: string; publicKey: string }> {
  const policies = join(into, 'policies');
  await cp(join(pkg.dir, 'policies'), policies, { recursive: true });
  const manifestPath = join(policies, 'portcullis.yaml');
  const manifest = parse(await readFile(manifestPath, 'utf8')) as { tools: { name: string; kind: string; url: string }[] };
  for (const tool of manifest.tools) tool.url = tool.kind === 'mcp' ? catalog.mcp : catalog.http;
  await writeFile(manifestPath, stringify(manifest));
  const compiled = join(into, 'compiled.tar.gz');
  await run(process.execPath, [pkg.bin, 'compile', policies, '-o', compiled], { cwd: into });
  // Signed as the controller signs what it serves: the sidecar verifies it, as shipped.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const bundle = await readBundleArchive(await readFile(compiled));
  const signer = createBundleSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const archive = join(into, 'bundle.tar.gz');
  await writeFile(archive, await writeBundleArchive(bundle, { signer }));
  return { archive, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** What the bench's stand-in controller serves with, as the controller does: a serving certificate from its own CA, and the sidecar's token. */
export interface ControllerTrust {
  /** Folder with tls.crt, tls.key and token, for `servers.js bundle-server`. */
  dir: string;
  /** The CA the sidecar is given (PORTCULLIS_CONTROLLER_CA). */
  caPem: string;
  /** The token file the sidecar sends (PORTCULLIS_CONTROLLER_TOKEN_FILE). */
  tokenFile: string;
}

export async function controllerTrust(into: string): Promise<ControllerTrust> {
  const dir = join(into, 'bundle-server');
  await mkdir(dir, { recursive: true });
  const serving = generateServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'tls.crt'), serving.certPem);
  await writeFile(join(dir, 'tls.key'), serving.keyPem);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, createHash('sha256').update(serving.certPem).digest('hex'));
  return { dir, caPem: serving.caPem, tokenFile };
}
