/**
 * Debian's Chromium for the approval-page tests, driven by playwright-core:
 * nothing is downloaded, and a machine without it fails the test with how to
 * install it rather than skipping. PORTCULLIS_CHROMIUM names another binary.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  if (process.env.PORTCULLIS_CHROMIUM) return process.env.PORTCULLIS_CHROMIUM;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error("chromium is not installed: apt-get install --no-install-recommends chromium (Debian's package; playwright-core drives it, nothing is downloaded)");
  }
}

/** A headless browser; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}
