// The .NET SDK (Microsoft.Azure.Cosmos 3.64, gateway mode, plain HTTP) against the REST API: the
// C# program in ./dotnet checks each answer and exits 1 on any mismatch. It needs the .NET SDK and
// NuGet, so it runs only when LOCAL_AZURE_DOTNET_TESTS=1; the project is copied out of the source
// tree so its build output stays out of it. .NET's transactional batch is binary (HybridRow) and
// is not served, so the program does not use it.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../../src/clock';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const run = process.env.LOCAL_AZURE_DOTNET_TESTS === '1';
const source = join(__dirname, '..', '..', '..', 'test', 'cosmos', 'dotnet');

(run ? test : test.skip)(
  `Microsoft.Azure.Cosmos: CRUD, ETags, patch, queries, change feed${run ? '' : ' — set LOCAL_AZURE_DOTNET_TESTS=1 (needs the .NET SDK and NuGet)'}`,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cosmos-dotnet-'));
    const db = openDatabase(':memory:');
    const commit = new GroupCommit(db);
    const server = new CosmosRestServer({ documents: new EmbeddedDocumentStore('app', [], db, commit, systemClock), db });
    try {
      cpSync(source, dir, { recursive: true, filter: (path) => !/[\\/](bin|obj)$/.test(path) });
      const port = await server.listen(0);
      const { stdout } = await promisify(execFile)('dotnet', ['run', '--project', dir, '--', `http://localhost:${port}/`], { timeout: 280_000 }).catch(
        (error: { stdout?: string; message: string }) => {
          throw new Error(`${error.message}\n${error.stdout ?? ''}`);
        },
      );
      expect(stdout).not.toContain('FAIL');
      expect(stdout).toContain('OK   change feed from the beginning: 8 changes, then NotModified');
    } finally {
      await server.close();
      commit.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  300_000,
);
