// The small family of typed errors the whole app speaks. Each maps to one HTTP status at the
// edge (src/http/responses.ts); messaging code maps them to dead-letter categories.

export interface ErrorDetail {
  /** Path of the offending field, dotted (payload.items[0].sku) — empty for the whole body. */
  target: string;
  message: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(
    message: string,
    readonly target?: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the input does not have the required shape. */
export class ValidationError extends AppError {
  readonly status = 400;
  readonly code: string = 'ValidationFailed';
}

/** 400: well-formed or not, the input is past one of the configured input limits (src/esb/input-limits.ts). */
export class InputLimitError extends ValidationError {
  override readonly code = 'InputLimitExceeded';
  constructor(
    message: string,
    /** The app setting that sets the limit, e.g. INPUT_MAX_DEPTH. */
    readonly setting: string,
    target = '',
  ) {
    super(message, target);
  }
}

/**
 * 401: the caller is not identified — no credential, an unknown API key, a client principal that
 * cannot be read, or an app in Azure with no way to identify anyone configured. `challenge` is the
 * WWW-Authenticate header value the answer carries.
 */
export class AuthenticationError extends AppError {
  readonly status = 401;
  readonly code = 'AuthenticationRequired';
  readonly challenge = 'ApiKey realm="api", header="x-api-key"';
}

/** 403: the caller is known but none of its roles allows the operation. */
export class AuthorizationError extends AppError {
  readonly status = 403;
  readonly code = 'Forbidden';
}

/** 404: the addressed thing does not exist. */
export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'NotFound';
}

/** 409: someone else changed it first and retrying did not help. */
export class ConcurrencyError extends AppError {
  readonly status = 409;
  readonly code = 'ConcurrencyConflict';
}

/** 409: the thing already exists (creating it again conflicts with what is there). */
export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'Conflict';
}

/** 412: the caller's If-Match precondition does not hold. */
export class PreconditionFailedError extends AppError {
  readonly status = 412;
  readonly code = 'PreconditionFailed';
}

/** 413: the body is over the size limit. */
export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'PayloadTooLarge';
}

/** 415: a content type the endpoint does not accept. */
export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'UnsupportedMediaType';
}

/** 422: well-formed, but a business rule forbids it. */
export class BusinessRuleError extends AppError {
  readonly status = 422;
  readonly code = 'BusinessRuleViolated';
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
