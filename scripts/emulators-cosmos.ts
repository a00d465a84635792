// npm run emulators:cosmos
// Creates the database and containers of config/cosmos.yaml in the Cosmos DB emulator of
// docker-compose.yml (in Azure the Bicep creates them). The emulator serves a self-signed
// certificate: this script trusts the one the emulator publishes at /_explorer/emulator.pem, for
// this connection only. `func start` needs it trusted too (docs/deployment.md, "The emulator option").
import { Agent, get } from 'node:https';
import { join } from 'node:path';
import { CosmosClient } from '@azure/cosmos';
import { ensureCosmosContainers } from '../src/adapters/azure/cosmos';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import { COSMOS_EMULATOR_ENDPOINT, COSMOS_EMULATOR_KEY } from './emulators-config';

function emulatorCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only to fetch the emulator's own certificate from localhost; everything after verifies it.
    get(`${COSMOS_EMULATOR_ENDPOINT}_explorer/emulator.pem`, { rejectUnauthorized: false }, (res) => {
      let pem = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (pem += chunk));
      res.on('end', () => (res.statusCode === 200 && pem.includes('BEGIN CERTIFICATE') ? resolve(pem) : reject(new Error(`No certificate at the emulator (HTTP ${res.statusCode})`))));
    }).on('error', (error) => reject(new Error(`The Cosmos DB emulator is not reachable at ${COSMOS_EMULATOR_ENDPOINT} (docker compose up -d cosmos): ${error.message}`)));
  });
}

async function main(): Promise<void> {
  parseScriptArgs('npm run emulators:cosmos', {});
  const definition = loadCosmosDefinition(join(appRoot(), 'config', 'cosmos.yaml'));
  const client = new CosmosClient({ endpoint: COSMOS_EMULATOR_ENDPOINT, key: COSMOS_EMULATOR_KEY, agent: new Agent({ ca: await emulatorCertificate() }) });
  await ensureCosmosContainers(client, definition);
  console.log(`Database ${definition.cosmos.databaseName}: ${definition.cosmos.containers.map((c) => c.name).join(', ')} ready in the emulator.`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
