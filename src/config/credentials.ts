/**
 * Where the gate finds the tool credentials that catalog tools name
 * (`tools[].credential.name`): files in one folder (in-cluster, a Secret
 * mounted into the sidecar container alone), or variables of the gate's own
 * environment. A bundle names a credential; it never holds one, and it can
 * name only what the platform gave the gate.
 */

/** Credentials given as variables: `PORTCULLIS_CREDENTIAL_` + the name upper-cased, `-` and `.` as `_`. */
export const CREDENTIAL_ENV_PREFIX = 'PORTCULLIS_CREDENTIAL_';

/** The variable that holds credential `name`. */
export function credentialEnvName(name: string): string {
  return CREDENTIAL_ENV_PREFIX + name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * The gate's credential sources. The values of variables are held out of
 * sight: serialising the configuration (a log line, a dump) shows their
 * names only.
 */
export class CredentialSources {
  readonly #env: ReadonlyMap<string, string>;
  /** Folder of one file per credential, named by it; empty: none. */
  readonly dir: string;

  constructor(dir: string, env: ReadonlyMap<string, string>) {
    this.dir = dir;
    this.#env = env;
  }

  /** The value of the variable for credential `name`, if the gate's environment has it. */
  fromEnv(name: string): string | undefined {
    return this.#env.get(credentialEnvName(name));
  }

  toJSON(): { dir: string; env: string[] } {
    return { dir: this.dir, env: [...this.#env.keys()] };
  }
}

type Env = Record<string, string | undefined>;

export function readCredentialSources(env: Env): CredentialSources {
  const vars = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (k.startsWith(CREDENTIAL_ENV_PREFIX) && v !== undefined && v !== '') vars.set(k, v);
  return new CredentialSources((env.PORTCULLIS_CREDENTIALS_DIR ?? '').trim(), vars);
}
