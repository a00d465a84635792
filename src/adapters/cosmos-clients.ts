// The Cosmos DB client module, loaded on first use: only the Azure path needs the SDK (the
// embedded one never loads it), and what was loaded is what there is to close when the worker stops.
let loaded: typeof import('./azure/cosmos') | undefined;

export function azureCosmos(): typeof import('./azure/cosmos') {
  loaded ??= require('./azure/cosmos') as typeof import('./azure/cosmos');
  return loaded;
}

/** Ends the Cosmos DB clients opened so far, if any; the next use opens new ones. */
export function closeCosmosClients(): void {
  loaded?.closeCosmosClients();
}
