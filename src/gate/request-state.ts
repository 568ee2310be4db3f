/**
 * The `requestState` the gate gives an MCP 2026-07-28 client with a call
 * that waits for approval (multi round-trip requests): it binds the retry to
 * the held call. The client can read it but not forge or change it: it is
 * authenticated by an HMAC-SHA256 under a key only the gate holds, and names
 * the approval, the call (a hash of server, tool and arguments), the policy
 * digest and an expiry. That an approval is used once is the held call's
 * business (the decider forgets it when it runs). Pure, but for the key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../evidence/canonical.ts';
import { sha256 } from '../evidence/hash.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Action } from './types.ts';

/** Marks the gate's own states among the servers' (which pass untouched). */
const PREFIX = 'portcullis.v1.';

export interface HeldCallState {
  /** The approval request's ID. */
  approvalId: string;
  /** `callHash` of the held call. */
  call: string;
  /** Digest of the policy that held it. */
  digest: string;
  /** Epoch milliseconds after which the state is refused. */
  exp: number;
  /** Makes two states of one call differ. */
  nonce: string;
}

/** A fresh key for one gate process: its states are not accepted by another. */
export function newStateKey(): Buffer {
  return randomBytes(32);
}

/**
 * What a retry must repeat for the approval to apply: the server, the tool and
 * its arguments (not the JSON-RPC id, which a retry changes).
 */
export function callHash(action: Action): string {
  const m = action.mcp;
  return sha256(canonicalJson({ server: m?.server ?? '', method: m?.method ?? '', name: m?.name ?? null, arguments: m?.arguments ?? null }));
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

export function sealState(key: Buffer, state: HeldCallState): string {
  const payload = Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
  return `${PREFIX}${payload}.${mac(key, payload)}`;
}

/** True for a state the gate made (the servers' own states are not the gate's to read). */
export function isGateState(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

function invalid(why: string): PortcullisError {
  return new PortcullisError(ErrorCodes.MRTR_STATE_INVALID, `the requestState of this retry ${why}: retry the call without it to ask for approval again`);
}

/**
 * The state, once its MAC, expiry, call and policy check out; throws
 * MRTR_STATE_INVALID otherwise.
 */
export function openState(key: Buffer, value: string, expect: { call: string; digest: string; now: number }): HeldCallState {
  const [payload, tag, ...rest] = value.slice(PREFIX.length).split('.');
  if (!payload || !tag || rest.length > 0) throw invalid('is malformed');
  const want = Buffer.from(mac(key, payload));
  const got = Buffer.from(tag);
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw invalid('was not made by this gate, or was changed');
  let state: HeldCallState;
  try {
    state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as HeldCallState;
  } catch {
    throw invalid('is malformed');
  }
  if (state.exp <= expect.now) throw invalid('has expired');
  if (state.call !== expect.call) throw invalid('belongs to another call (tool or arguments changed)');
  if (state.digest !== expect.digest) throw invalid('was given under another policy');
  return state;
}
