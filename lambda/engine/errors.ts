/** Base class of every error the engine throws for a whole input it cannot check. */
export class ResidencyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResidencyError';
  }
}

/** The input cannot be read as a connection log (unknown format, corrupt gzip, no records). */
export class InputError extends ResidencyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputError';
  }
}

/** The policy is invalid; the message names the offending field. */
export class PolicyError extends ResidencyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyError';
  }
}

/** A GeoIP database is missing, corrupt or not a country database. */
export class GeoDatabaseError extends ResidencyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GeoDatabaseError';
  }
}

/** A command-line or configuration value is invalid. */
export class UsageError extends ResidencyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
