// npm run infra:sync
// Writes the entities of config/ (Service Bus queues and topics, Cosmos DB containers, event
// hubs) into the Bicep modules, between their `// <generated …>` and `// </generated>` lines,
// and builds infra/workbook.json from the KQL in infra/queries/.
// Run it after changing config/topology.yaml, cosmos.yaml or eventhubs.yaml; the drift test in
// `npm test` fails until the Bicep agrees with config/ again.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { declaredInfra, GENERATED_BLOCKS } from '../src/infra/declared';
import { renderBicep } from '../src/infra/render';
import { buildWorkbook } from '../src/infra/workbook';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';

export function syncInfra(root: string): string[] {
  const declared = declaredInfra(join(root, 'config')) as unknown as Record<string, unknown>;
  const changed: string[] = [];
  for (const block of GENERATED_BLOCKS) {
    const file = join(root, block.file);
    const text = readFileSync(file, 'utf8');
    const start = text.indexOf('// <generated');
    const end = text.indexOf('// </generated>');
    if (start < 0 || end < start) throw new Error(`${block.file} has no // <generated …> … // </generated> block`);
    const header = `// <generated source="${block.source}"> written by npm run infra:sync; edit ${block.source}, not this block`;
    const body = block.vars.map((v) => `var ${v} = ${renderBicep(declared[v])}`).join('\n\n');
    const next = `${text.slice(0, start)}${header}\n${body}\n${text.slice(end)}`;
    if (next !== text) {
      writeFileSync(file, next);
      changed.push(block.file);
    }
  }
  const workbookFile = join(root, 'infra', 'workbook.json');
  const workbook = `${JSON.stringify(buildWorkbook(join(root, 'infra')), null, 2)}\n`;
  if (!existsSync(workbookFile) || readFileSync(workbookFile, 'utf8') !== workbook) {
    writeFileSync(workbookFile, workbook);
    changed.push('infra/workbook.json');
  }
  return changed;
}

if (require.main === module) {
  parseScriptArgs('npm run infra:sync', {});
  const changed = syncInfra(appRoot());
  console.log(changed.length ? `Updated ${changed.join(', ')}` : 'infra/ already agrees with config/');
}
