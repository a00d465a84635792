// Wires the ESB once per process: the message catalog, the transforms, the route table (reloaded
// when the file changes) and the router on the configured messaging and idempotency adapters.
// Built eagerly by the functions that need it, so a bad routes file fails startup.
import { join } from 'node:path';
import { idempotencyStore } from './ports';
import { messaging } from './ports';
import { loadTopology } from '@backbone/azure-model/topology';
import { INBOUND_QUEUE } from '../esb/ingress';
import { inputLimits } from '../esb/input-limits';
import { Router } from '../esb/router';
import { RouteTableSource } from '../esb/routing/routes';
import { SchemaRegistry } from '../esb/schemas';
import { buildTransformGraph } from '../esb/transforms/catalog';
import type { TransformGraph } from '../esb/transforms/graph';
import { configDir } from '../shared/app-paths';

export interface Esb {
  registry: SchemaRegistry;
  graph: TransformGraph;
  routes: RouteTableSource;
  router: Router;
}

let shared: Esb | undefined;
let registry: SchemaRegistry | undefined;

/** The message catalog alone (for validating command bodies without the router). */
export function schemaRegistry(): SchemaRegistry {
  registry ??= SchemaRegistry.load(join(configDir(), 'schemas'));
  return registry;
}

export function esb(): Esb {
  if (shared) return shared;
  inputLimits(); // a malformed limit setting (INPUT_MAX_*) fails startup, naming the setting
  const dir = configDir();
  const registry = schemaRegistry();
  const graph = buildTransformGraph(registry, join(dir, 'transforms.yaml'));
  const topology = loadTopology(join(dir, 'topology.yaml'));
  const routes = new RouteTableSource(join(dir, 'routes.yaml'), { topology, registry, graph }, (error) =>
    console.error(`config/routes.yaml changed but could not be loaded; the previous routes stay in force. ${error.message}`),
  );
  const router = new Router({
    routes: () => routes.current(),
    registry,
    graph,
    sender: messaging(),
    idempotency: idempotencyStore(),
    inboundQueue: INBOUND_QUEUE,
  });
  shared = { registry, graph, routes, router };
  return shared;
}
