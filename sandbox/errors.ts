/**
 * Errors that callers of the sandbox catch.
 *
 * @module
 */

/** A language's interpreter or compiler is missing or does not start. */
export class ToolchainError extends Error {
  /** Debian package that provides the missing tool. */
  readonly apt: string;

  constructor(message: string, apt: string) {
    super(message);
    this.name = "ToolchainError";
    this.apt = apt;
  }
}

/** The requested isolation cannot be set up on this machine. */
export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SandboxUnavailableError";
  }
}
