// Keys and signing for tests. Fixed test keys for unit tests; for tests through the embedded
// host, the keys the host put into the environment (its development keys), so a test can put a
// message on the broker the way the app would — or the way a forger would.
import { join } from 'node:path';
import { SchemaRegistry } from '../../src/esb/schemas';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { loadFieldEncryptionConfig } from '../../src/security/field-encryption-config';
import { FieldProtector } from '../../src/security/field-protection';
import { parseEncryptionKeys, parseSigningKeys, signingKeys, type EncryptionKeyring, type SigningKeyring } from '../../src/security/key-settings';
import { signMessage } from '../../src/security/message-signature';
import { repoRoot } from './messaging-harness';

/** 32 bytes of one repeated value, base64: a test key that says what it is. */
export const testSecret = (byte: number) => Buffer.alloc(32, byte).toString('base64');

export const signingSetting = (doc: { current: string; rotationWindow?: string; keys: Record<string, { secret: string; retiredAt?: string }> }) => JSON.stringify(doc);

export const testSigningKeys: SigningKeyring = parseSigningKeys(
  signingSetting({ current: 'k2', keys: { k1: { secret: testSecret(1), retiredAt: '2026-01-01T00:00:00Z' }, k2: { secret: testSecret(2) } } }),
);
export const testEncryptionKeys: EncryptionKeyring = parseEncryptionKeys(JSON.stringify({ current: 'e2', keys: { e1: testSecret(11), e2: testSecret(12) } }));

export function testFieldProtector(registry = SchemaRegistry.load(), keys: EncryptionKeyring = testEncryptionKeys): FieldProtector {
  return new FieldProtector(loadFieldEncryptionConfig(join(repoRoot, 'config', 'field-encryption.yaml'), registry), () => keys);
}

/** Signed as the app signs, for `destination`, with the keys of the host running in this process (MESSAGE_SIGNING_KEYS). */
export function signedByApp<M extends OutgoingMessage>(message: M, destination: string): M {
  return signMessage(message, signingKeys(), destination);
}
