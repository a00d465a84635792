// Every transform the ESB knows: format conversions for each model of the message catalog, the
// declarative field maps of config/transforms.yaml, and the named TypeScript mappers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configDir } from '../../shared/app-paths';
import type { SchemaRegistry } from '../schemas';
import { compileFieldMap, FieldMapError, parseFieldMaps } from './field-map';
import { formatTransforms } from './format-transforms';
import { TransformGraph, type Transform } from './graph';
import { mappers } from './mappers';

function modelTransform(name: string, from: string, to: string, map: Transform['apply']): Transform {
  return { name, from: { model: from, format: 'json' }, to: { model: to, format: 'json' }, apply: map };
}

export function buildTransformGraph(registry: SchemaRegistry, file = join(configDir(), 'transforms.yaml')): TransformGraph {
  const graph = new TransformGraph();
  for (const model of registry.models) for (const t of formatTransforms(model)) graph.add(t);
  const check = (what: string, from: string, to: string) => {
    for (const m of [from, to]) if (!registry.find(m)) throw new FieldMapError(`${what}: ${m} is not in the message catalog`);
  };
  if (existsSync(file)) {
    for (const def of parseFieldMaps(parseYaml(readFileSync(file, 'utf8')), file)) {
      check(`${file}: transform ${def.name}`, def.from, def.to);
      const map = compileFieldMap(def);
      graph.add(modelTransform(def.name, def.from, def.to, (doc) => ({ ...doc, model: def.to, content: map(doc.content) })));
    }
  }
  for (const m of mappers) {
    check(`mapper ${m.name}`, m.from, m.to);
    graph.add(modelTransform(m.name, m.from, m.to, (doc) => ({ ...doc, model: m.to, content: m.map(doc.content as Record<string, unknown>, doc.meta) })));
  }
  return graph;
}
