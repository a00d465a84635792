// Why a message was dead-lettered decides what happens to it next (dead-letter triage):
//   TRANSIENT       resubmitted later with backoff, a bounded number of times, then archived
//   INVALID_FORMAT  parked on the review queue for a person
//   BUSINESS_RULE   published on the business-alerts topic for the rule owners
//   OTHER           archived

export type DeadLetterCategory = 'TRANSIENT' | 'INVALID_FORMAT' | 'BUSINESS_RULE' | 'OTHER';

export const DEAD_LETTER_REASONS = {
  InvalidEnvelope: 'INVALID_FORMAT',
  InputLimitExceeded: 'INVALID_FORMAT',
  UnknownMessageType: 'INVALID_FORMAT',
  SchemaValidationFailed: 'INVALID_FORMAT',
  TransformationFailed: 'INVALID_FORMAT',
  MessageTooLarge: 'INVALID_FORMAT',
  InvalidDestinationMessage: 'INVALID_FORMAT',
  SignatureInvalid: 'INVALID_FORMAT',
  CommandInvalid: 'INVALID_FORMAT',
  NoRouteMatched: 'BUSINESS_RULE',
  BusinessRuleViolated: 'BUSINESS_RULE',
  CommandTargetNotFound: 'BUSINESS_RULE',
  CommandConflict: 'BUSINESS_RULE',
  RetriesExhausted: 'TRANSIENT',
  MaxDeliveryCountExceeded: 'TRANSIENT',
  TTLExpiredException: 'OTHER',
  DestinationUnavailable: 'OTHER',
} as const satisfies Record<string, DeadLetterCategory>;

export type DeadLetterReason = keyof typeof DEAD_LETTER_REASONS;

/** The category stamped on the dead letter wins; else the reason decides; unknown reasons are OTHER. */
export function categorise(reason: string | undefined, stamped?: unknown): DeadLetterCategory {
  if (stamped === 'TRANSIENT' || stamped === 'INVALID_FORMAT' || stamped === 'BUSINESS_RULE' || stamped === 'OTHER') return stamped;
  return (reason && (DEAD_LETTER_REASONS as Record<string, DeadLetterCategory>)[reason]) || 'OTHER';
}

export const CATEGORY_PROPERTY = 'DeadLetterCategory';
