// Field-level encryption wired once per process: config/field-encryption.yaml checked against the
// message catalog, keys from FIELD_ENCRYPTION_KEYS (read when used, so a rotated setting applies).
// Message signing needs no wiring here: the messaging port signs (src/adapters/messaging.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadFieldEncryptionConfig } from '../security/field-encryption-config';
import { FieldProtector } from '../security/field-protection';
import { encryptionKeys } from '../security/key-settings';
import { configDir } from '../shared/app-paths';
import { schemaRegistry } from './esb';

let shared: FieldProtector | undefined;

export function fieldProtector(): FieldProtector {
  if (shared) return shared;
  const file = join(configDir(), 'field-encryption.yaml');
  const config = existsSync(file) ? loadFieldEncryptionConfig(file, schemaRegistry()) : { messageTypes: new Map(), consumers: new Map() };
  shared = new FieldProtector(config, encryptionKeys);
  return shared;
}
