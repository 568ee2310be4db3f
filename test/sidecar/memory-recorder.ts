/** An in-memory EvidenceRecorder for sidecar tests: every intent and outcome, in order, with a way to wait for one. */
import type { EvidenceRecorder, IntentRecord, OutcomeRecord } from '../../src/evidence/recorder.ts';

export interface MemoryRecorder extends EvidenceRecorder {
  intents: IntentRecord[];
  outcomes: OutcomeRecord[];
  /** Resolves once an outcome for `decisionId` (or, without one, `count` outcomes in all) has been recorded. */
  outcomeFor(decisionId: string): Promise<OutcomeRecord>;
  waitOutcomes(count: number): Promise<void>;
}

export function memoryRecorder(): MemoryRecorder {
  const intents: IntentRecord[] = [];
  const outcomes: OutcomeRecord[] = [];
  const waiters: Array<() => void> = [];
  const until = (ready: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (ready()) resolve();
        else waiters.push(check);
      };
      check();
    });
  return {
    intents,
    outcomes,
    intent: async (record) => {
      intents.push(record);
      return { seq: intents.length + outcomes.length - 1, hash: '' };
    },
    outcome: async (record) => {
      outcomes.push(record);
      for (const w of waiters.splice(0)) w();
    },
    head: () => undefined,
    close: async () => undefined,
    outcomeFor: async (decisionId) => {
      await until(() => outcomes.some((o) => o.decisionId === decisionId));
      return outcomes.find((o) => o.decisionId === decisionId)!;
    },
    waitOutcomes: (count) => until(() => outcomes.length >= count),
  };
}
