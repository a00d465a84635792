// npm run infra:lint
// Runs the Bicep linter over every .bicep in infra/ with infra/bicepconfig.json (every rule an
// error). Fails on any finding, naming the file and line.
import { join } from 'node:path';
import { BicepUnavailableError, ensureBicep, formatDiagnostic, runBicep } from '../src/infra/bicep-cli';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';

async function main(): Promise<number> {
  parseScriptArgs('npm run infra:lint', {});
  const root = appRoot();
  let binary: string;
  try {
    binary = ensureBicep(root, (line) => console.log(line));
  } catch (error) {
    if (!(error instanceof BicepUnavailableError)) throw error;
    console.error(`infra:lint: ${error.message}`);
    return 1;
  }
  const lint = await runBicep(binary, ['lint', '--pattern', '**/*.bicep', '--no-restore'], join(root, 'infra'));
  for (const d of lint.diagnostics) console.error(formatDiagnostic(d, root));
  for (const line of lint.otherOutput) console.error(line);
  if (lint.status !== 0 || lint.diagnostics.length || lint.otherOutput.length) {
    console.error(`infra:lint: ${lint.diagnostics.length} finding(s) in infra/`);
    return 1;
  }
  console.log('infra:lint: every .bicep in infra/ is clean (infra/bicepconfig.json: every rule an error)');
  return 0;
}

void main().then((code) => {
  process.exitCode = code;
});
