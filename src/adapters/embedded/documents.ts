// The document-store port on the Cosmos DB of the local Azure running in this process (found
// through @backbone/azure-model's registry, not by importing the host). The container is looked up
// on every call, so a module-level instance survives a host restart within a process.
import { getLocalAzureRuntime } from '@backbone/azure-model/local-runtime';
import type { BatchOperation, Condition, Document, DocumentContainer, QuerySpec } from '../../ports/documents';

export class EmbeddedDocumentContainer implements DocumentContainer {
  constructor(
    readonly name: string,
    private readonly fixed?: DocumentContainer,
  ) {}

  get #c(): DocumentContainer {
    return this.fixed ?? getLocalAzureRuntime().cosmos.container(this.name);
  }

  read<T extends Document>(id: string, partitionKey: string) {
    return this.#c.read<T>(id, partitionKey);
  }
  create<T extends Document>(doc: T) {
    return this.#c.create(doc);
  }
  upsert<T extends Document>(doc: T, options?: { ifMatch?: string }) {
    return this.#c.upsert(doc, options);
  }
  replace<T extends Document>(doc: T, options?: { ifMatch?: string }) {
    return this.#c.replace(doc, options);
  }
  delete(id: string, partitionKey: string, options?: { ifMatch?: string }) {
    return this.#c.delete(id, partitionKey, options);
  }
  batch(partitionKey: string, operations: BatchOperation[]) {
    return this.#c.batch(partitionKey, operations);
  }
  query<T extends Document>(spec: QuerySpec) {
    return this.#c.query<T>(spec);
  }
  distinct(path: string, where?: Condition[]) {
    return this.#c.distinct(path, where);
  }
}
