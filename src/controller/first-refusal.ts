/**
 * Refusal rules as an ordered list (pure). Each check says why its subject
 * is refused, or undefined when it passes; the first refusal wins and the
 * checks after it are not run, so the order of the list is the order in
 * which a caller meets the messages.
 */
export type RefusalCheck<T> = (subject: T) => string | undefined;

/** The first answer of an ordered list of questions about one subject, or undefined when none answers. */
export function firstAnswer<T, A>(questions: readonly ((subject: T) => A | undefined)[], subject: T): A | undefined {
  for (const ask of questions) {
    const answer = ask(subject);
    if (answer !== undefined) return answer;
  }
  return undefined;
}

/** The first check's refusal, or undefined when every check passes. */
export function firstRefusal<T>(checks: readonly RefusalCheck<T>[], subject: T): string | undefined {
  return firstAnswer(checks, subject);
}
