// The JSON Schemas written into the code are compiled without Ajv's meta-schema check, which cost
// the host ~20 ms of start-up per Ajv instance (packages/azure-model/src/built-in-schema.ts). The
// check happens here instead: every module that compiles one is loaded, and each schema it
// compiled must be a valid draft-07 schema.
import Ajv from 'ajv';
import { builtInSchemas } from '@backbone/azure-model/built-in-schema';
import '@backbone/azure-model/cosmos';
import '@backbone/azure-model/eventhubs';
import '@backbone/azure-model/topology';
import '../../src/esb/envelope';
import '../../src/esb/routing/routes';
import '../../src/esb/transforms/field-map';
import '../../src/participants/faults';
import '../../src/security/field-encryption-config';
import '../../src/security/key-settings';

describe('the schemas built into the code', () => {
  const schemas = builtInSchemas();

  test('every module that declares one compiled it through builtInSchemaCompiler', () => {
    // cosmos, eventhubs, topology, envelope, routes, field-map (two: the file and the field spec),
    // faults, field-encryption-config, key-settings (two: signing and encryption keys).
    expect(schemas).toHaveLength(11);
  });

  test('each is a valid draft-07 JSON Schema', () => {
    const meta = new Ajv({ allErrors: true });
    for (const schema of schemas) {
      const valid = meta.validateSchema(schema);
      expect({ schema, errors: valid ? null : meta.errors }).toEqual({ schema, errors: null });
    }
  });

  test('a broken schema would be caught by that check', () => {
    const meta = new Ajv({ allErrors: true });
    expect(meta.validateSchema({ type: 'object', properties: { a: { type: 'strin' } } })).toBe(false);
    expect(meta.validateSchema({ type: 'object', required: 'a' })).toBe(false);
  });
});
