// Cosmos DB over REST, checked with a second client nobody here wrote: Microsoft's .NET SDK
// (Microsoft.Azure.Cosmos 3.64, gateway mode, tools/dotnet-clients/cosmos) against the local
// Azure's REST API in front of the embedded store. It reads the service as .NET does: its own
// query pipeline and continuation tokens, the change feed's, and transactional batches and bulk
// in HybridRow, the binary form .NET sends them in where @azure/cosmos sends JSON.
//
// Needs the .NET SDK: without `dotnet` on PATH the test is skipped, saying why — except under CI,
// where it runs (and fails) so that a machine without .NET never passes silently. The program is
// built once into tools/dotnet-clients/cosmos/bin (gitignored) and rebuilt only when its sources change.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { systemClock } from '../../src/clock';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { GroupCommit, openDatabase } from '../../src/sqlite';

function repoRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'tools', 'dotnet-clients', 'cosmos'))) return dir;
  throw new Error(`no tools/dotnet-clients/cosmos above ${__dirname}`);
}
const root = repoRoot();
const project = join(root, 'tools', 'dotnet-clients', 'cosmos');
const dll = join(project, 'bin', 'CosmosCheck.dll');

const dotnet = spawnSync('dotnet', ['--version'], { encoding: 'utf8' });
const hasDotnet = !dotnet.error && dotnet.status === 0;
const run = hasDotnet || !!process.env.CI;
if (!run) console.log('dotnet-sdk.test: skipped — the .NET SDK (dotnet) is not on PATH; it runs the Microsoft.Azure.Cosmos client against the REST API (under CI=true it runs and fails instead).');

/** Builds the program unless its build is newer than every source file. */
function build(): void {
  const sources = ['CosmosCheck.csproj', 'Program.cs', 'Directory.Build.props'].map((f) => statSync(join(project, f)).mtimeMs);
  if (existsSync(dll) && statSync(dll).mtimeMs > Math.max(...sources)) return;
  const built = spawnSync('dotnet', ['build', join(project, 'CosmosCheck.csproj'), '--nologo', '-v', 'q'], { encoding: 'utf8', cwd: root });
  if (built.status !== 0) throw new Error(`dotnet build failed (${built.error?.message ?? `exit ${built.status}`}):\n${built.stdout}${built.stderr}`);
}

type Step = { step: string; ok: boolean; error?: string } & Record<string, unknown>;

(run ? describe : describe.skip)('Microsoft.Azure.Cosmos (.NET) against the Cosmos DB REST API', () => {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const documents = new EmbeddedDocumentStore('app', [], db, commit, systemClock);
  const server = new CosmosRestServer({ documents, db });
  const steps = new Map<string, Step>();
  let output = '';

  beforeAll(async () => {
    build();
    const port = await server.listen(0);
    // Asynchronously: the server answering the program runs on this process' event loop.
    output = await new Promise<string>((resolve) => {
      execFile('dotnet', [dll, `http://localhost:${port}/`, 'dotnet-check'], { timeout: 600_000 }, (error, stdout, stderr) =>
        resolve(`${stdout}${error && !stdout ? `${error.message}\n${stderr}` : ''}`),
      );
    });
    for (const line of output.split('\n').filter((l) => l.startsWith('{'))) {
      const step = JSON.parse(line) as Step;
      steps.set(step.step, step);
    }
  }, 630_000);
  afterAll(async () => {
    await server.close();
    commit.close();
    db.close();
  });

  const step = (name: string): Step => {
    const s = steps.get(name);
    if (!s) throw new Error(`the program printed no '${name}' step:\n${output}`);
    if (!s.ok) throw new Error(`${name} failed: ${s.error ?? ''}${s.status ? ` (status ${String(s.status)})` : ''}`);
    return s;
  };

  test('a database and a container created, the container found again by CreateContainerIfNotExists, with its partition key path', () => {
    expect(step('create-container')).toMatchObject({ status: 201, ifNotExists: 200, partitionKeyPath: '/pk' });
  });

  test('CRUD with ETags: 409 on a second create, 304 on If-None-Match with the current ETag, 412 on a stale If-Match, patch, 204 on delete, then 404', () => {
    expect(step('crud-etags')).toMatchObject({
      create: 201,
      createAgain: 409,
      ifNoneMatchCurrent: 304,
      replaceIfMatch: 200,
      replaceStale: 412,
      ifNoneMatchStale: 200,
      upsert: 200,
      patched: 14,
      delete: 204,
      readDeleted: 404,
    });
  });

  test('a cross-partition ORDER BY query paged 3 at a time, resumed by a new iterator from the first page’s continuation token', () => {
    expect(step('query-order-by-continuation')).toMatchObject({
      pages: [['q6', 'q5', 'q4'], ['q3', 'q2', 'q1'], ['q0']],
      resumedWithToken: true,
    });
  });

  test('a transactional batch in HybridRow: create, upsert, replace with If-Match, read, patch (of the item the batch upserted), delete', () => {
    expect(step('transactional-batch')).toMatchObject({ status: 200, results: [201, 201, 200, 200, 200, 204], readBack: 'b-new', patchedN: 20, replacedN: 3, deletedRead: 404 });
  });

  test('a transactional batch failing on its last operation (409) leaves nothing: the others 424, the created item absent, the replaced one unchanged', () => {
    expect(step('transactional-batch-rollback')).toMatchObject({ status: 409, results: [424, 424, 409], createdRead: 404, keptN: 1 });
  });

  test('bulk (AllowBulkExecution): creates issued together, sent as non-atomic HybridRow batches, each on its own: the one whose id is taken 409, the others written', () => {
    expect(step('bulk')).toMatchObject({ results: [201, 201, 201, 201, 201, 409], found: ['k0', 'k1', 'k2', 'k3', 'k4'], takenN: 0 });
  });

  test('the change feed from the beginning (latest version of each item, every partition), then resumed from its continuation with only what came after', () => {
    expect(step('change-feed')).toMatchObject({ fromBeginning: ['f1:2', 'f2:1', 'f3:1'], resumed: ['f4:1'] });
  });

  test('the program ran every step, and deleted its database', () => {
    expect(step('delete-database')).toMatchObject({ status: 204, readAfter: 404 });
    expect([...steps.keys()]).toEqual([
      'create-container',
      'crud-etags',
      'query-order-by-continuation',
      'transactional-batch',
      'transactional-batch-rollback',
      'bulk',
      'change-feed',
      'delete-database',
    ]);
  });
});
