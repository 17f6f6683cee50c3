/**
 * Errors caused by what the user gave us (files, fields, flags). The CLI prints their
 * message alone and exits with code 2; anything else is a bug and exits with 1.
 */
export class UserError extends Error {
  /** Exit code the CLI uses for bad input. */
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Builds a UserError whose message names the file, the field and what was expected. */
export function inputError(file: string, field: string | undefined, expectation: string): UserError {
  const where = field ? `${file}: field '${field}'` : file;
  return new UserError(`${where}: ${expectation}`);
}
