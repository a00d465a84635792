// Output bindings, carried out after a successful invocation and before the trigger is settled
// (so a crash in between re-runs the function: at-least-once, as in Azure).
//
// Service Bus output for non-.NET workers binds IAsyncCollector<string>: an array (or a string
// holding a JSON array) becomes one message per element, an object becomes indented JSON, every
// message is text/plain and carries $AzureWebJobsParentId; a Buffer is sent as the text
// "System.Byte[]". No message properties can be set — the app uses the messaging port for that.
import type { EmbeddedBroker } from '../broker/broker';
import type { EmbeddedEventHubs } from '../eventhubs/event-log';
import type { EmbeddedDocumentStore } from '../docstore/store';
import type { Document } from '@backbone/azure-model/documents';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import type { RpcBindingInfo, RpcInvocationResponse, RpcTypedData } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import { resolveSettingExpression } from './settings';

function fromTypedData(data: RpcTypedData): unknown {
  if (data.string != null) return data.string;
  if (data.json != null) return JSON.parse(data.json) as unknown;
  if (data.bytes != null) return Buffer.from(data.bytes);
  if (data.int != null) return data.int;
  if (data.double != null) return data.double;
  return undefined;
}

function looksLikeJson(text: string): boolean {
  const t = text.trim();
  return (t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'));
}

function elementToBody(element: unknown): string | undefined {
  if (element === null || element === undefined) return undefined;
  if (Buffer.isBuffer(element)) return 'System.Byte[]';
  if (typeof element === 'string') return element;
  if (typeof element === 'boolean') return element ? 'True' : 'False';
  if (typeof element === 'number') return String(element);
  return JSON.stringify(element, null, 2);
}

export function serviceBusOutputBodies(data: RpcTypedData): string[] {
  let value = fromTypedData(data);
  if (typeof value === 'string' && looksLikeJson(value)) {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      // not JSON after all: sent as the string it is
    }
  }
  const elements = Array.isArray(value) ? value : [value];
  return elements.map(elementToBody).filter((b): b is string => b !== undefined);
}

/**
 * Event Hubs output binds IAsyncCollector<byte[]>: a Buffer is one event with those bytes; an
 * array (or a string holding a JSON array) is one event per element; anything else is the UTF-8
 * of its .NET text (objects as indented JSON). No partition key, properties or content type can
 * be set, so events go round-robin.
 */
export function eventHubOutputBodies(data: RpcTypedData): Buffer[] {
  if (data.bytes != null) return [Buffer.from(data.bytes)];
  return serviceBusOutputBodies(data).map((b) => Buffer.from(b, 'utf8'));
}

export class OutputBindings {
  constructor(
    private readonly broker: EmbeddedBroker,
    private readonly env: NodeJS.ProcessEnv,
    private readonly eventHubs?: EmbeddedEventHubs,
    private readonly documents?: EmbeddedDocumentStore,
  ) {}

  /**
   * The Cosmos DB output binding (the extension's CosmosDBAsyncCollector): each item — the value,
   * or each element of an array; a string is parsed as a JSON object — is upserted. A container
   * that does not exist is created (partitioned on the binding's partitionKey, else /id) when the
   * binding sets createIfNotExists; otherwise the invocation fails with the extension's message.
   */
  async #upsertDocuments(binding: RpcBindingInfo, data: RpcTypedData): Promise<void> {
    if (!this.documents) throw new Error('No embedded Cosmos DB store');
    const database = resolveSettingExpression(String(binding.databaseName ?? ''), this.env);
    const containerName = resolveSettingExpression(String(binding.containerName ?? binding.collectionName ?? ''), this.env);
    if (database !== this.documents.databaseName) throw new Error(`The database '${database}' is not the embedded store's database '${this.documents.databaseName}'.`);
    if (!this.documents.has(containerName)) {
      if (binding.createIfNotExists !== true) {
        throw new Error(`The container '${containerName}' (in database '${database}') does not exist. To automatically create the container, set 'CreateIfNotExists' to 'true'.`);
      }
      const partitionKey = typeof binding.partitionKey === 'string' && binding.partitionKey.startsWith('/') ? binding.partitionKey : '/id';
      this.documents.addContainer({ name: containerName, partitionKey });
    }
    const container = this.documents.container(containerName);
    const value = fromTypedData(data);
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === null || item === undefined) continue;
      const doc = (typeof item === 'string' ? JSON.parse(item) : item) as Document;
      await container.upsert(doc);
    }
  }

  static supported(binding: RpcBindingInfo): boolean {
    return ['http', 'serviceBus', 'eventHub', 'cosmosDB'].includes(binding.type ?? '');
  }

  async apply(fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string): Promise<void> {
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      if (binding.direction !== 'out' || binding.type === 'http') continue;
      const data = name === '$return' ? response.returnValue : response.outputData?.find((o) => o.name === name)?.data;
      if (!data) continue;
      if (binding.type === 'serviceBus') {
        const target = (binding.queueName ?? binding.topicName) as string;
        const path = resolveSettingExpression(target, this.env);
        const messages: OutgoingMessage[] = serviceBusOutputBodies(data).map((body) => ({
          body: Buffer.from(body),
          contentType: 'text/plain',
          applicationProperties: { $AzureWebJobsParentId: invocationId },
        }));
        // Sent one at a time, as the extension's collector does.
        for (const m of messages) await this.broker.send(path, [m]);
      } else if (binding.type === 'cosmosDB') {
        await this.#upsertDocuments(binding, data);
      } else if (binding.type === 'eventHub') {
        if (!this.eventHubs) throw new Error('No embedded Event Hubs (config/eventhubs.yaml)');
        const hub = resolveSettingExpression(String(binding.eventHubName ?? ''), this.env);
        // The collector batches and sends each event with round-robin partition assignment.
        for (const body of eventHubOutputBodies(data)) await this.eventHubs.publish(hub, [{ body }]);
      }
    }
  }
}
