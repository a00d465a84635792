// A routes file that does not load stops the app from starting, and says which route and field.
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { ConfigCopy } from '../support/config-copy';
import { repoRoot } from '../support/messaging-harness';

test('startup fails naming the route and the field at fault', async () => {
  const config = new ConfigCopy();
  config.editRoutes((yaml) => yaml.replace('{ field: messageType, operator: equals, value: PaymentReceived }', '{ field: messageType, operator: is, value: PaymentReceived }'));
  process.env.CONFIG_DIR = config.dir;
  try {
    await expect(EmbeddedHost.start({ appDir: repoRoot, database: ':memory:', port: 0, logWriter: () => undefined })).rejects.toThrow(
      /routes\.yaml: route 'payments': conditions\.operator: operator must be one of/,
    );
  } finally {
    delete process.env.CONFIG_DIR;
    config.remove();
  }
});
