// npm run infra:build
// Compiles infra/main.bicep and every module to ARM JSON in build/infra/ with the real Bicep CLI
// (restored from NuGet by tools/bicep/bicep-cli.csproj the first time), then has the compiler
// evaluate the template for a fixed deployment (build/infra/snapshot.snapshot.json: every resource
// it would deploy). Fails on any compiler error or warning, naming the file and line.
import { join, relative } from 'node:path';
import { BicepCompileError, BicepUnavailableError, compileInfra, ensureBicep, formatDiagnostic } from '../src/infra/bicep-cli';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';

async function main(): Promise<number> {
  parseScriptArgs('npm run infra:build', {});
  const root = appRoot();
  const infra = join(root, 'infra');
  const out = join(root, 'build', 'infra');
  try {
    ensureBicep(root, (line) => console.log(line));
    console.log(`Compiling infra/ to ${relative(root, out)}/ …`);
    const compiled = await compileInfra(root, infra, out);
    // Warnings fail the build too: a misspelt property or a type the compiler does not know is a
    // warning to Bicep and a failed deployment to the user.
    if (compiled.diagnostics.length) {
      for (const d of compiled.diagnostics) console.error(formatDiagnostic(d, root));
      console.error(`infra:build: ${compiled.diagnostics.length} finding(s); none is allowed (suppress one only with #disable-next-line and a comment saying why)`);
      return 1;
    }
    const types = new Map<string, number>();
    for (const r of compiled.resources) types.set(r.type, (types.get(r.type) ?? 0) + 1);
    console.log(`infra/main.bicep → ${relative(root, join(out, 'main.json'))}: ${compiled.resources.length} resources, ${types.size} types, no errors, no warnings`);
    return 0;
  } catch (error) {
    if (error instanceof BicepCompileError) {
      console.error(error.message.replace(/^bicep build failed:\n/, ''));
      console.error('infra:build: the compiler refused infra/');
      return 1;
    }
    if (error instanceof BicepUnavailableError) {
      console.error(`infra:build: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
