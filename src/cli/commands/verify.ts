/** `portcullis verify LEDGER…`: checks the chain, hashes and signatures of a ledger and says where it breaks. */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Command, CommandIO } from '../command.ts';
import { createProgress } from '../progress.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';

const usage = `Usage: portcullis verify LEDGER... [options]

Checks every entry's hash, every link of the chain, the sequence numbers and,
with a public key, the ed25519 signatures. LEDGER is a ledger file, its
rotated segments (any order), a directory holding them, or a shipped ledger
in object storage, s3://BUCKET/PREFIX/NAMESPACE/POD/ (streamed; credentials
from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Exit status 0 when
the ledger is intact, 1 when it is not (the first finding is where the chain
breaks), 2 on a usage error.

Options:
  --public-key FILE      ed25519 public key (PEM): every signature must verify
  --head SEQ:HASH        a head witnessed elsewhere: the ledger must still
                         contain it (detects a cut tail). HASH is sha256:<hex>
                         (at least 12 digits), or the value of the metric
                         portcullis_ledger_head_hash_prefix
  --head-file FILE       the same, from the JSON the admin API serves
                         (GET /v1/ledger/head), saved earlier
  --head-url URL         the same, fetched now from a running sidecar's
                         admin API (http://127.0.0.1:9091/v1/ledger/head) or
                         the controller's witness
                         (http://CONTROLLER/v1/ledger-heads/NAMESPACE/POD), or
                         read from the witness store (s3://BUCKET/witness/NAMESPACE/POD.json)
  --s3-endpoint URL      the S3 API for s3:// locations (default
                         AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS's own)
  --allow-partial-start  accept a ledger whose older segments are archived
  --allow-unsigned-tail  accept unsigned entries after the last signed head
  --json                 print the report as JSON`;

/** Expands directories into the ledger files they hold. */
export async function ledgerFiles(io: CommandIO, args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const a of args) {
    const p = resolve(io.cwd, a);
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new PortcullisError(ErrorCodes.LEDGER_CORRUPT, `${a}: no such file or directory`);
    if (info.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.jsonl')).sort();
      if (names.length === 0) throw new PortcullisError(ErrorCodes.LEDGER_CORRUPT, `${a}: the directory holds no .jsonl ledger files`);
      files.push(...names.map((n) => join(p, n)));
    } else files.push(p);
  }
  return files;
}

type HeadJson = { seq?: unknown; hash?: unknown; signature?: unknown };

/** A head from a file, from a URL (the admin API of a running sidecar, the controller's witness), or from the witness store (s3://). */
async function readHead(io: CommandIO, from: string, s3Endpoint?: string): Promise<string> {
  if (from.startsWith('s3://')) {
    const { readS3Text } = await import('../ledger-inputs.ts');
    return readS3Text(io, from, s3Endpoint);
  }
  if (!/^https?:\/\//.test(from)) return readFile(resolve(io.cwd, from), 'utf8');
  const res = await fetch(from, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return res.text();
}

type WitnessedHead = { seq: number; hash: string; signature?: string };

/** A head document (the admin API's or the witness's JSON): its SEQ:HASH text and signature. */
async function headDocument(io: CommandIO, from: string, s3Endpoint: string | undefined): Promise<{ text: string; signature?: string }> {
  let h: HeadJson & { head?: HeadJson };
  try {
    h = JSON.parse(await readHead(io, from, s3Endpoint)) as HeadJson & { head?: HeadJson };
  } catch (e) {
    if (e instanceof PortcullisError && e.code !== ErrorCodes.CONFIG) throw e;
    throw new PortcullisError(ErrorCodes.CONFIG, `head ${from}: ${(e as Error).message}`);
  }
  const src = h.head ?? h;
  return { text: `${String(src.seq)}:${String(src.hash)}`, ...(typeof src.signature === 'string' ? { signature: src.signature } : {}) };
}

/** SEQ:HASH, or SEQ:<hash prefix metric>; a signature is kept only beside a whole hash. */
function parseHead(text: string, signature: string | undefined): WitnessedHead {
  const fromMetric = /^(\d+):(\d+)$/.exec(text);
  if (fromMetric) {
    // portcullis_ledger_head_seq : portcullis_ledger_head_hash_prefix
    return { seq: Number(fromMetric[1]), hash: 'sha256:' + Number(fromMetric[2]).toString(16).padStart(12, '0') };
  }
  const m = /^(\d+):(sha256:[0-9a-f]{12,64})$/.exec(text);
  if (!m) throw new PortcullisError(ErrorCodes.CONFIG, `--head must be SEQ:sha256:<hex, at least 12 digits> or SEQ:<hash prefix metric>, got "${text}"`);
  return { seq: Number(m[1]), hash: m[2]!, ...(signature !== undefined && m[2]!.length === 71 ? { signature } : {}) };
}

/** Where the witnessed head comes from: --head, or a document (--head-url, --head-file) that wins over it. */
interface HeadSources {
  head: string | undefined;
  document: string | undefined;
  s3Endpoint: string | undefined;
}

async function witnessed(io: CommandIO, from: HeadSources): Promise<WitnessedHead | undefined> {
  if (from.document) {
    const doc = await headDocument(io, from.document, from.s3Endpoint);
    return parseHead(doc.text, doc.signature);
  }
  return from.head === undefined ? undefined : parseHead(from.head, undefined);
}

export const command: Command = {
  summary: 'Verify a ledger: hash chain, sequence and signatures',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'verify', usage, {
      args: argv,
      allowPositionals: true,
      options: {
        'public-key': { type: 'string' },
        head: { type: 'string' },
        'head-file': { type: 'string' },
        'head-url': { type: 'string' },
        's3-endpoint': { type: 'string' },
        'allow-partial-start': { type: 'boolean' },
        'allow-unsigned-tail': { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    if (typeof parsed === 'number') return parsed;
    const v = parsed.values;
    if (parsed.positionals.length === 0) return usageError(io, 'verify', 'name at least one ledger file', usage);
    try {
      const { verifyLedger } = await import('../../evidence/verify.ts');
      const { createHeadVerifier } = await import('../../evidence/signing.ts');
      const { openLedgerInputs } = await import('../ledger-inputs.ts');
      const verifier = v['public-key'] ? createHeadVerifier(await readFile(resolve(io.cwd, v['public-key']))) : undefined;
      const head = await witnessed(io, { head: v.head, document: v['head-url'] ?? v['head-file'], s3Endpoint: v['s3-endpoint'] });
      const ledger = await openLedgerInputs(io, parsed.positionals, v['s3-endpoint']);
      const progress = createProgress(io, 'verify');
      let report: import('../../evidence/verify.ts').VerifyReport;
      try {
        report = await verifyLedger(ledger.inputs, {
          ...(verifier ? { verifier } : {}),
          ...(head ? { witnessedHead: head } : {}),
          allowPartialStart: v['allow-partial-start'] === true,
          allowUnsignedTail: v['allow-unsigned-tail'] === true,
          onProgress: (p) => progress.update(p.bytes, p.totalBytes, `${p.entries} entries`),
        });
      } finally {
        await ledger.close();
      }
      progress.done();
      if (v.json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printReport(io, report);
      return report.ok ? 0 : 1;
    } catch (e) {
      return reportError(io, 'verify', e);
    }
  },
};

function printReport(io: CommandIO, r: import('../../evidence/verify.ts').VerifyReport): void {
  const out = (s: string): void => void io.stdout.write(s + '\n');
  const where = r.head ? `head entry ${r.head.seq} ${r.head.hash} (${r.head.file}:${r.head.line})` : 'no entries';
  if (r.ok) out(`ledger OK: ${r.entries} entries in ${r.files.length} file${r.files.length === 1 ? '' : 's'}, ${where}`);
  else {
    const first = r.findings[0]!;
    out(`ledger BROKEN (${first.kind}): ${first.message}`);
    out(`${r.entries} entries read in ${r.files.length} file${r.files.length === 1 ? '' : 's'}, ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}:`);
    for (const f of r.findings) out(`  ${f.kind.padEnd(10)} ${f.message}`);
  }
  if (r.signatures.keyId) {
    out(`signatures: ${r.signatures.valid} valid, ${r.signatures.invalid} invalid (key ${r.signatures.keyId})` + (r.signedHead ? `, last signed head entry ${r.signedHead.seq}` : ''));
  }
  for (const w of r.warnings) out(`warning: ${w}`);
}
