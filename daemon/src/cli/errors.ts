/**
 * Exit statuses of `pve-domains`, one per kind of failure, so that scripts can tell a mistake in
 * the command line from a refusal by the daemon and from a daemon that cannot be reached.
 */
export const exitCodes = {
  ok: 0,
  /** `diagnose` found a check that is not ok. */
  diagnosisNotOk: 1,
  usage: 2,
  /** The API responded with 4xx or 5xx. */
  api: 3,
  connection: 4,
} as const;

/** A command line the CLI cannot run; printed with a hint and exit status 2. */
export class UsageError extends Error {
  /** A follow-up line, such as the usage of the command. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** The daemon could not be reached, or the response was not the API's; exit status 4. */
export class ConnectionError extends Error {}

/** The API responded with an error status; exit status 3. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly parameters: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}
