/**
 * Parses every Rego module of OPA's conformance cases and reports how many
 * parse. Cases expecting `rego_parse_error` count as passing when they fail.
 *
 *   node --import tsx scripts/parse-corpus.ts [corpus-dir] [--verbose]
 *
 * The corpus defaults to `../shared/opa-conformance` beside the checkout.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseModule, parseQuery } from '../src/policy/rego/parser/index.ts';

interface ConformanceCase {
  note?: string;
  query?: string;
  modules?: string[];
  want_error_code?: string;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
  }
  return out.sort();
}

function main(): void {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const dir = resolve(args.find((a) => !a.startsWith('--')) ?? join(import.meta.dirname, '..', '..', 'shared', 'opa-conformance'));
  let modules = 0;
  let parsed = 0;
  let queries = 0;
  let queriesParsed = 0;
  let expectedFailures = 0;
  let expectedFailuresSeen = 0;
  const failures: string[] = [];
  let parseMillis = 0;
  let cpuMillis = 0;
  let bytes = 0;
  for (const file of yamlFiles(dir)) {
    const doc = parseYaml(readFileSync(file, 'utf8'), { intAsBigInt: true }) as { cases?: ConformanceCase[] };
    for (const [i, c] of (doc.cases ?? []).entries()) {
      const wantParseError = c.want_error_code === 'rego_parse_error';
      let caseFailed = false;
      for (const [j, src] of (c.modules ?? []).entries()) {
        modules++;
        bytes += src.length;
        const name = `${relative(dir, file)}#${i}/${j}`;
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        try {
          parseModule(src, name);
          parsed++;
        } catch (e) {
          caseFailed = true;
          if (!wantParseError) failures.push(`${name} (${c.note ?? ''}): ${(e as Error).message}`);
        } finally {
          parseMillis += performance.now() - t0;
          const c = process.cpuUsage(c0);
          cpuMillis += (c.user + c.system) / 1000;
        }
      }
      if (c.query !== undefined) {
        queries++;
        try {
          parseQuery(c.query, 'query');
          queriesParsed++;
        } catch (e) {
          if (!wantParseError) failures.push(`${relative(dir, file)}#${i} query ${JSON.stringify(c.query)}: ${(e as Error).message}`);
          caseFailed = true;
        }
      }
      if (wantParseError) {
        expectedFailures++;
        if (caseFailed) expectedFailuresSeen++;
      }
    }
  }
  console.log(`modules: ${parsed}/${modules} parsed`);
  console.log(`queries: ${queriesParsed}/${queries} parsed`);
  console.log(`cases expecting rego_parse_error: ${expectedFailuresSeen}/${expectedFailures} failed to parse`);
  console.log(`parse time: ${parseMillis.toFixed(0)} ms (${cpuMillis.toFixed(0)} ms CPU) for ${(bytes / 1024).toFixed(0)} KiB of Rego`);
  const shown = verbose ? failures : failures.slice(0, 20);
  for (const f of shown) console.log(`  FAIL ${f}`);
  if (shown.length < failures.length) console.log(`  … ${failures.length - shown.length} more (--verbose)`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main();
