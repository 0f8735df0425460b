// The base of every Roost error: a stable code that scripts and tests can match
// on, and a message a person can act on ("Cannot X: Y is Z").

export class RoostError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The message of anything thrown, for logs and status fields. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
