// The app and the local Azure are two trees: nothing under the app's src/ or functions/ imports the
// local Azure (it is a dev dependency, never deployed), and nothing in the local Azure's src/
// imports the app — both meet only through @backbone/azure-model (shapes, resource declarations,
// the in-process registry and hooks). Read from the sources, so a new import across the line fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { repoRoot } from '../support/messaging-harness';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:from\s+|import\(\s*|require\(\s*)'([^']+)'/g;
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1]!);

test("the app's src/ and functions/ import nothing from the local Azure", () => {
  const offending = [...sources(join(repoRoot, 'src')), ...sources(join(repoRoot, 'functions'))].flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('@backbone/local-azure') || (spec.startsWith('.') && resolve(file, '..', spec).startsWith(join(repoRoot, 'packages'))))
      .map((spec) => `${relative(repoRoot, file)} → ${spec}`),
  );
  expect(offending).toEqual([]);
});

test("the local Azure's src/ imports nothing from the app (only @backbone/azure-model of this repository)", () => {
  const packageSrc = join(repoRoot, 'packages', 'local-azure', 'src');
  const offending = sources(packageSrc).flatMap((file) =>
    importsOf(file)
      .filter((spec) => (spec.startsWith('.') && !resolve(file, '..', spec).startsWith(packageSrc)) || (spec.startsWith('@backbone/') && !spec.startsWith('@backbone/azure-model')))
      .map((spec) => `${relative(repoRoot, file)} → ${spec}`),
  );
  expect(offending).toEqual([]);
});

test('the shared model imports neither side', () => {
  const modelSrc = join(repoRoot, 'packages', 'azure-model', 'src');
  const offending = sources(modelSrc).flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('@backbone/') || (spec.startsWith('.') && !resolve(file, '..', spec).startsWith(modelSrc)))
      .map((spec) => `${relative(repoRoot, file)} → ${spec}`),
  );
  expect(offending).toEqual([]);
});
