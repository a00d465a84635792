// Cosmos DB's error answers. Every one carries a JSON body with `code` and `message`: the JS SDK
// parses the body of any failed response and reads `message`, so an empty body would crash it.
// Never use the phrase "Cross partition query only supports" nor `additionalErrorInfo`: either one
// sends @azure/cosmos down its client-side query-plan pipeline, which this server does not need.
import { DocumentStoreError } from '@backbone/azure-model/documents';

const CODE_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'RequestTimeout',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'RequestEntityTooLarge',
  424: 'FailedDependency',
  429: 'TooManyRequests',
  431: 'RequestHeaderFieldsTooLarge',
  500: 'InternalServerError',
  501: 'NotImplemented',
};

/** The service's wording for the statuses an SDK user sees most, so messages read the same as in Azure. */
const DEFAULT_MESSAGES: Record<number, string> = {
  404: 'Entity with the specified id does not exist in the system.',
  409: 'Entity with the specified id already exists in the system.',
  412: 'Operation cannot be performed because one of the specified precondition is not met.',
  413: 'Request size is too large',
};

export class CosmosError extends Error {
  constructor(
    readonly status: number,
    message: string = DEFAULT_MESSAGES[status] ?? `Request failed with status ${status}`,
    readonly substatus?: number,
    /** Headers the answer carries besides the sub-status (a 429's x-ms-retry-after-ms). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get code(): string {
    return CODE_NAMES[this.status] ?? String(this.status);
  }

  body(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The store's failures keep their status; their message says what the store found. */
export function toCosmosError(error: unknown): CosmosError {
  if (error instanceof CosmosError) return error;
  if (error instanceof DocumentStoreError) {
    const standard = DEFAULT_MESSAGES[error.code];
    return new CosmosError(error.code, standard ? `${standard} ${error.message}` : error.message);
  }
  return new CosmosError(500, (error as Error)?.message ?? String(error));
}
