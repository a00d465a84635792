// Turns errors into HTTP answers: the app's typed errors keep their status, transport errors of
// the messaging port map to 404/413/503, anything else is a 500 that is logged — never a stack
// trace in a response. Bodies follow the Microsoft REST guidelines' error shape.

import { DocumentStoreError } from '../ports/documents';
import { AuthenticationError, isAppError } from '../shared/errors';

export interface JsonResponse {
  status: number;
  jsonBody: unknown;
  headers?: Record<string, string>;
}

export interface ErrorLog {
  error(...args: unknown[]): void;
}

const TRANSPORT_STATUS: Record<string, [number, string]> = {
  MessagingEntityNotFound: [404, 'NotFound'],
  MessageNotFound: [404, 'NotFound'],
  MessageSizeExceeded: [413, 'PayloadTooLarge'],
  MessageLockLost: [409, 'Conflict'],
  SessionCannotBeLocked: [409, 'Conflict'],
  ServiceBusy: [503, 'ServiceUnavailable'],
  ServiceTimeout: [503, 'ServiceUnavailable'],
  ServiceCommunicationProblem: [503, 'ServiceUnavailable'],
  QuotaExceeded: [503, 'ServiceUnavailable'],
};

// Cosmos DB answers (the document-store port's DocumentStoreError) that are not the caller's fault
// but are worth telling apart from a bug.
const DOCUMENT_STATUS: Record<number, [number, string]> = {
  408: [503, 'ServiceUnavailable'],
  413: [413, 'PayloadTooLarge'],
  429: [503, 'ServiceUnavailable'],
  449: [503, 'ServiceUnavailable'],
  503: [503, 'ServiceUnavailable'],
};

export function json(status: number, body: unknown, headers?: Record<string, string>): JsonResponse {
  return { status, jsonBody: body, ...(headers ? { headers } : {}) };
}

export function errorResponse(error: unknown, log: ErrorLog): JsonResponse {
  if (isAppError(error)) {
    return json(
      error.status,
      {
        error: {
          code: error.code,
          message: error.message,
          ...(error.target !== undefined ? { target: error.target } : {}),
          ...(error.details.length ? { details: error.details } : {}),
        },
      },
      error instanceof AuthenticationError ? { 'WWW-Authenticate': error.challenge } : undefined,
    );
  }
  const code = (error as { code?: unknown })?.code;
  const mapped = typeof code === 'string' ? TRANSPORT_STATUS[code] : error instanceof DocumentStoreError ? DOCUMENT_STATUS[error.code] : undefined;
  if (mapped) {
    const [status, errorCode] = mapped;
    if (status >= 500) log.error(error);
    return json(status, { error: { code: errorCode, message: (error as Error).message } }, status === 503 ? { 'Retry-After': '5' } : undefined);
  }
  log.error(error);
  return json(500, { error: { code: 'InternalError', message: 'The request could not be processed; it has been logged.' } });
}
