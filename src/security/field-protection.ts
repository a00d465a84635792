// Field-level encryption of message payloads (config/field-encryption.yaml):
//   protect          at the ingress, after validation and before the send: derive the clear
//                    facts the business keeps (a card's last four digits, its brand), then
//                    encrypt every configured field — what leaves the ingress never holds them
//                    in clear
//   assertProtected  where a payload enters the event store: a configured field in clear is
//                    refused (400 / CommandInvalid) rather than stored
//   reveal           for a consumer that needs a clear value: only the fields the configuration
//                    grants that consumer are decrypted, in memory, never written back
import { readPath, writePath, type PathSegment } from '../esb/field-path';
import { ValidationError } from '../shared/errors';
import { cardBrand, last4 } from './card-numbers';
import type { Derivation, FieldEncryptionConfig, MessageTypeProtection } from './field-encryption-config';
import type { EncryptionKeyring } from './key-settings';
import { isSealed, open, seal, type SealContext } from './sealed-value';

type Payload = Record<string, unknown>;

const DERIVE: Record<Derivation, (digits: string) => string> = { last4, cardBrand };

/** A field's path under the root its errors name (payload. at the ingress, nothing for an HTTP body). */
const under = (root: string, path: string) => (root ? `${root}.${path}` : path);

/** Calls fn with every value a path reaches (all items for [*]) and a way to replace it. */
function visit(root: unknown, segments: PathSegment[], fn: (value: unknown, replace: (v: unknown) => void, where: string) => void, where = ''): void {
  if (segments.length === 0 || root === null || typeof root !== 'object') return;
  const [head, ...rest] = segments as [PathSegment, ...PathSegment[]];
  const step = (container: Record<string | number, unknown>, key: string | number, label: string) => {
    if (!Object.prototype.hasOwnProperty.call(container, key) || container[key] === undefined || container[key] === null) return;
    if (rest.length === 0) fn(container[key], (v) => (container[key] = v), label);
    else visit(container[key], rest, fn, label);
  };
  if ('key' in head) {
    if (!Array.isArray(root)) step(root as Payload, head.key, where ? `${where}.${head.key}` : head.key);
  } else if (Array.isArray(root)) {
    const indexes = 'any' in head ? root.map((_, i) => i) : [head.index];
    for (const i of indexes) if (i < root.length) step(root as unknown as Record<number, unknown>, i, `${where}[${i}]`);
  }
}

export class FieldProtector {
  constructor(
    private readonly config: FieldEncryptionConfig,
    private readonly keys: () => EncryptionKeyring,
  ) {}

  /** The configuration of a message type, if it has encrypted fields. */
  protection(messageType: string): MessageTypeProtection | undefined {
    return this.config.messageTypes.get(messageType);
  }

  #binding(p: MessageTypeProtection, payload: Payload, root: string): string {
    const [value] = readPath(payload, p.bind);
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ValidationError(`${p.bindPath} is required: ${p.messageType}'s sensitive fields are encrypted for it`, under(root, p.bindPath));
    }
    return String(value);
  }

  /**
   * A copy of the payload with the derived facts written and every configured field encrypted.
   * A value that is already encrypted is refused: clients send clear values, the ingress encrypts.
   */
  protect(messageType: string, payload: Payload, root = 'payload'): Payload {
    const p = this.config.messageTypes.get(messageType);
    if (!p) return payload;
    const out = structuredClone(payload);
    const binding = this.#binding(p, out, root);
    for (const d of p.derive) {
      const [source] = readPath(out, d.from);
      if (typeof source === 'string') writePath(out, d.segments, DERIVE[d.as](source));
      else if (readPath(out, d.segments).length > 0) writePath(out, d.segments, undefined); // derived only, never taken from the sender
    }
    const keys = this.keys();
    for (const field of p.encrypt) {
      const context: SealContext = { messageType, path: field.path, binding };
      visit(out, field.segments, (value, replace, where) => {
        if (isSealed(value)) throw new ValidationError(`${under(root, where)} is already encrypted; send the clear value (the ingress encrypts it)`, under(root, where));
        replace(seal(value, context, keys));
      });
    }
    return JSON.parse(JSON.stringify(out)) as Payload; // drops the derived fields set to undefined
  }

  /** Throws ValidationError naming the first configured field that holds a clear value. */
  assertProtected(messageType: string, payload: Payload, root = 'payload'): void {
    const p = this.config.messageTypes.get(messageType);
    if (!p) return;
    for (const field of p.encrypt) {
      visit(payload, field.segments, (value, _replace, where) => {
        if (!isSealed(value)) throw new ValidationError(`${under(root, where)} must be encrypted (field-level encryption of ${messageType}); it arrived in clear`, under(root, where));
      });
    }
  }

  /**
   * A copy with the fields this consumer may read (consumers in the configuration) decrypted.
   * `payload` holds the message type's fields at their configured paths, its binding field
   * included — a stored event that keeps them where the message had them qualifies.
   */
  reveal(consumer: string, messageType: string, payload: Payload): Payload {
    const grants = this.config.consumers.get(consumer)?.get(messageType);
    if (!grants) throw new Error(`${consumer} may not decrypt any field of ${messageType} (config/field-encryption.yaml consumers)`);
    const p = this.config.messageTypes.get(messageType)!;
    const out = structuredClone(payload);
    const binding = this.#binding(p, out, '');
    const keys = this.keys();
    for (const field of p.encrypt) {
      if (!grants.has(field.path)) continue;
      visit(out, field.segments, (value, replace) => replace(open(value, { messageType, path: field.path, binding }, keys)));
    }
    return out;
  }

  /** The paths a consumer may decrypt of a message type. */
  grants(consumer: string, messageType: string): string[] {
    return [...(this.config.consumers.get(consumer)?.get(messageType) ?? [])];
  }
}
