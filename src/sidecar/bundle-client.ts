/**
 * The sidecar's bundle client (design.md §6): follows the controller's bundle
 * server with long polling (`If-None-Match` + `?wait=`), checks every archive
 * against its digest, and swaps it in through `PolicyEngine.load` (atomic:
 * evaluations in flight finish on the old bundle). When the controller cannot
 * be reached it keeps enforcing the last good bundle, retries with
 * exponential backoff and jitter, and says so in one log line (and one more
 * when the controller is back). With a `lastBundleFile`, every bundle loaded
 * is also kept there, and a sidecar that starts while the controller cannot
 * be reached enforces the kept one (saying so) until the controller answers.
 * With `verificationKeys`, every bundle, from the controller or kept, must be
 * signed by one of them (src/policy/bundle-signing.ts): an unsigned or wrongly
 * signed one is refused (PORTCULLIS_BUNDLE_SIGNATURE) and the last good bundle
 * stays. With a `tokenFile`, each request carries the projected service
 * account token (re-read every time: the kubelet rotates it).
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { BundleVerificationKey } from '../policy/bundle-signing.ts';
import { ErrorCodes, PortcullisError, isPortcullisError } from '../errors.ts';
import { bundleTag, readBundleArchive } from '../policy/bundle-archive.ts';
import type { CompiledBundle, PolicyEngine } from '../policy/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import { setBundleInfo, type PortcullisMetrics } from '../telemetry/metrics.ts';
import { readLastBundle, saveLastBundle } from './last-bundle-file.ts';
import { bearerHeader } from './service-account-token.ts';

export interface BundleClientOptions {
  /** Controller base URL, e.g. http://portcullis-controller.portcullis-system.svc:8080 */
  controllerUrl: string;
  /** `namespace/name` of the PolicyBundle. */
  bundle: string;
  engine: PolicyEngine;
  logger: Logger;
  metrics?: PortcullisMetrics;
  /** How long the controller may hold one poll (default 30 s). */
  waitMs?: number;
  /** First retry delay after a failure (default 500 ms), doubling up to maxBackoffMs (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called after each bundle is loaded (tests, benchmarks). */
  onLoaded?: (bundle: CompiledBundle) => void;
  dispatcher?: Dispatcher;
  /** CA (PEM) to trust for an https controller URL (the controller's webhook CA). */
  ca?: string;
  /** Where the last loaded bundle is kept across restarts (last-bundle-file.ts); unset: nowhere. */
  lastBundleFile?: string;
  /** Bundles must be signed by one of these keys (PORTCULLIS_BUNDLE_PUBLIC_KEY); unset: no signature is needed. */
  verificationKeys?: readonly BundleVerificationKey[] | undefined;
  /** The projected service account token sent as `Authorization: Bearer` (PORTCULLIS_CONTROLLER_TOKEN_FILE). */
  tokenFile?: string | undefined;
}

/** The last bundle refused, while no good one has been loaded since. */
interface BundleRefusal {
  code: string;
  message: string;
  /** The digest still enforced, if any. */
  keeping: string | undefined;
}

type Health = 'starting' | 'connected' | 'unreachable';

type FailureKind = 'bad bundle' | 'bad signature' | 'refused access' | 'unreachable';

const FAILURE_TEXT: Record<FailureKind, string> = {
  'bad bundle': 'refused a bundle from the controller',
  'bad signature': 'refused a bundle from the controller',
  'refused access': 'the controller refused this sidecar its bundle',
  unreachable: 'controller unreachable',
};

/** The error for a bundle server's answer other than 200, 304 or 404: 401/403 refuse this sidecar access. */
function httpFailure(status: number, text: string, bundle: string): PortcullisError {
  if (status === 401 || status === 403) return new PortcullisError(status === 401 ? ErrorCodes.UNAUTHENTICATED : ErrorCodes.FORBIDDEN, `bundle server refused ${bundle} (HTTP ${status}): ${text.slice(0, 300)}`);
  return new PortcullisError(ErrorCodes.UPSTREAM, `bundle server answered HTTP ${status}: ${text.slice(0, 200)}`);
}

/** portcullis_bundle_reloads_total's result for a refused bundle. */
const RELOAD_RESULT: Record<FailureKind, string> = { 'bad bundle': 'failure', 'bad signature': 'bad_signature', 'refused access': 'failure', unreachable: 'failure' };

function failureKind(e: unknown): FailureKind {
  if (!isPortcullisError(e)) return 'unreachable';
  if (e.code === ErrorCodes.BUNDLE_SIGNATURE) return 'bad signature';
  if (e.code === ErrorCodes.BUNDLE_INVALID || e.code === ErrorCodes.BUNDLE_DIGEST_MISMATCH) return 'bad bundle';
  if (e.code === ErrorCodes.FORBIDDEN || e.code === ErrorCodes.UNAUTHENTICATED) return 'refused access';
  return 'unreachable';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class BundleClient {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private health: Health = 'starting';
  private failures = 0;
  private readonly waitMs: number;
  private readonly url: URL;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private lastBundleTried = false;
  private fromFile: string | undefined;
  private refusal: BundleRefusal | undefined;

  constructor(private readonly options: BundleClientOptions) {
    const [ns, name, ...rest] = options.bundle.split('/');
    if (!ns || !name || rest.length > 0) {
      throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_BUNDLE="${options.bundle}" is invalid: expected NAMESPACE/NAME of a PolicyBundle`, { setting: 'PORTCULLIS_BUNDLE' });
    }
    this.waitMs = options.waitMs ?? 30_000;
    this.url = new URL(`/v1/bundles/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`, options.controllerUrl);
    this.url.searchParams.set('wait', `${this.waitMs}ms`);
    this.ownsDispatcher = !options.dispatcher;
    // Headers come only when the long poll ends: the timeouts must outlast the wait.
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        headersTimeout: this.waitMs + 15_000,
        bodyTimeout: 60_000,
        keepAliveTimeout: this.waitMs + 10_000,
        connections: 2,
        ...(options.ca ? { connect: { ca: options.ca } } : {}),
      });
  }

  /** Starts following the controller; returns at once. */
  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** The digest being enforced, if any. */
  digest(): string | undefined {
    return this.options.engine.current()?.digest;
  }

  connected(): boolean {
    return this.health === 'connected';
  }

  /** The digest of the kept bundle being enforced because the controller has not answered since start, if so. */
  enforcingKeptBundle(): string | undefined {
    return this.fromFile;
  }

  /** What /readyz says about where the enforced bundle came from: a refusal, or a kept bundle after a restart. */
  readiness(): Record<string, unknown> | undefined {
    if (this.refusal) return { bundleRefused: { code: this.refusal.code, message: this.refusal.message, keeping: this.refusal.keeping ?? null } };
    if (this.fromFile) return { enforcingKeptBundle: this.fromFile };
    return undefined;
  }

  /** No bundle yet and the controller unreachable: enforce the one kept from before the restart, once. */
  private async loadKeptBundle(): Promise<void> {
    const path = this.options.lastBundleFile;
    if (!path || this.lastBundleTried || this.options.engine.current()) return;
    this.lastBundleTried = true;
    try {
      const kept = await readLastBundle(path, this.options.verificationKeys);
      if (!kept || this.options.engine.current()) return;
      await this.options.engine.load(kept);
      this.fromFile = kept.digest;
      if (this.options.metrics) setBundleInfo(this.options.metrics, this.options.bundle, kept.digest, kept.compiler);
      this.options.logger.warn({ bundle: this.options.bundle, digest: kept.digest, file: path }, `controller unreachable at start: enforcing the bundle kept from before the restart (${kept.digest}) until the controller answers`);
    } catch (e) {
      this.options.logger.error({ bundle: this.options.bundle, file: path, err: (e as Error).message }, 'the kept bundle cannot be used; no bundle until the controller answers (failing closed)');
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const changed = await this.pollOnce(signal);
        this.markReachable();
        // A 404 or 304 that came back at once (no long poll on the other side) must not spin.
        if (!changed && Date.now() - started < 250) await sleep(Math.min(this.waitMs, 1000), signal);
      } catch (e) {
        if (signal.aborted) return;
        const wait = this.markFailure(e);
        await this.loadKeptBundle();
        await sleep(wait, signal);
      }
    }
  }

  /** One long poll; true when a new bundle was loaded. */
  private async pollOnce(signal: AbortSignal): Promise<boolean> {
    // The tag, not the bare digest: a PolicyBundle whose spec.mode alone changed is a new bundle to load.
    const current = this.options.engine.current();
    const known = current ? bundleTag(current) : undefined;
    const res = await this.get(known, signal);
    if (res.statusCode === 304) return this.notModified(res);
    if (res.statusCode === 404) return this.noBundleYet(res, known);
    if (res.statusCode !== 200) throw httpFailure(res.statusCode, await res.body.text(), this.options.bundle);
    const { archive, bundle } = await this.readAnswer(res);
    if (bundleTag(bundle) === known && !this.fromFile) return false;
    await this.install(bundle, archive, known);
    return true;
  }

  private async get(known: string | undefined, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    return request(this.url, {
      method: 'GET',
      headers: { ...(known ? { 'if-none-match': `"${known}"` } : {}), ...(await this.authorization()) },
      signal,
      dispatcher: this.dispatcher,
    });
  }

  private async notModified(res: Dispatcher.ResponseData): Promise<false> {
    await res.body.dump();
    // The controller serves what was kept: it is current again.
    this.fromFile = undefined;
    return false;
  }

  private async noBundleYet(res: Dispatcher.ResponseData, known: string | undefined): Promise<false> {
    await res.body.dump();
    if (this.health !== 'connected' || !known) this.options.logger.warn({ bundle: this.options.bundle, controller: this.options.controllerUrl }, `the controller serves no bundle for ${this.options.bundle} yet; waiting for it${known ? ` and keeping ${known}` : ''}`);
    return false;
  }

  /** The archive of a 200 and the bundle in it, checked: signature (with keys), digest against its manifest and against what the server advertised. */
  private async readAnswer(res: Dispatcher.ResponseData): Promise<{ archive: Uint8Array; bundle: CompiledBundle }> {
    const archive = new Uint8Array(await res.body.arrayBuffer());
    const advertised = String(res.headers['x-portcullis-digest'] ?? res.headers.etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
    // readBundleArchive checks the signature first (with keys), then recomputes the digest and refuses a mismatch with its manifest.
    const bundle = await readBundleArchive(archive, { verificationKeys: this.options.verificationKeys });
    if (advertised && advertised !== bundle.digest) {
      throw new PortcullisError(ErrorCodes.BUNDLE_DIGEST_MISMATCH, `bundle server advertised ${advertised} but sent ${bundle.digest}`);
    }
    return { archive, bundle };
  }

  /** Loads a new bundle, says so (metrics, log, onLoaded), and keeps its archive for restarts. */
  private async install(bundle: CompiledBundle, archive: Uint8Array, known: string | undefined): Promise<void> {
    await this.options.engine.load(bundle);
    this.fromFile = undefined;
    this.refusal = undefined;
    const { metrics, logger } = this.options;
    if (metrics) {
      setBundleInfo(metrics, this.options.bundle, bundle.digest, bundle.compiler);
      metrics.bundleReloads.inc({ bundle: this.options.bundle, result: 'success' });
    }
    logger.info({ bundle: this.options.bundle, digest: bundle.digest, previous: known, ...(bundle.mode ? { mode: bundle.mode } : {}) }, 'policy bundle loaded');
    this.options.onLoaded?.(bundle);
    if (this.options.lastBundleFile) {
      await saveLastBundle(this.options.lastBundleFile, archive).catch((e) =>
        this.options.logger.warn({ file: this.options.lastBundleFile, err: (e as Error).message }, 'could not keep the bundle for restarts; a restart while the controller is unreachable will fail closed'),
      );
    }
  }

  private authorization(): Promise<Record<string, string>> {
    return bearerHeader(this.options.tokenFile);
  }

  private markReachable(): void {
    if (this.health === 'unreachable') {
      this.options.logger.info({ bundle: this.options.bundle, controller: this.options.controllerUrl, after: this.failures }, 'controller reachable again');
    }
    this.health = 'connected';
    this.failures = 0;
  }

  /** Records a failure and returns how long to wait before the next try. */
  private markFailure(e: unknown): number {
    this.failures++;
    const max = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, (this.options.initialBackoffMs ?? 500) * 2 ** Math.min(this.failures - 1, 16));
    const kind = failureKind(e);
    if (kind !== 'unreachable') this.refusal = { code: (e as PortcullisError).code, message: (e as Error).message, keeping: this.digest() };
    const badBundle = kind === 'bad bundle' || kind === 'bad signature';
    if (badBundle) this.options.metrics?.bundleReloads.inc({ bundle: this.options.bundle, result: RELOAD_RESULT[kind] });
    // A refused bundle is logged each time; being unreachable or refused access, once until it changes.
    if (this.health !== 'unreachable' || badBundle) {
      const keeping = this.digest() ? `keeping ${this.digest()}` : 'no bundle loaded yet (failing closed)';
      this.options.logger.warn(
        { bundle: this.options.bundle, controller: this.options.controllerUrl, err: (e as Error).message, code: (e as PortcullisError).code },
        `${FAILURE_TEXT[kind]}: ${(e as Error).message}; ${keeping}; retrying with backoff up to ${max / 1000}s`,
      );
    }
    this.health = 'unreachable';
    return Math.round(delay / 2 + (Math.random() * delay) / 2);
  }
}
