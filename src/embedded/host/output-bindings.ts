// Output bindings, carried out after a successful invocation and before the trigger is settled
// (so a crash in between re-runs the function: at-least-once, as in Azure).
//
// Service Bus output for non-.NET workers binds IAsyncCollector<string>: an array (or a string
// holding a JSON array) becomes one message per element, an object becomes indented JSON, every
// message is text/plain and carries $AzureWebJobsParentId; a Buffer is sent as the text
// "System.Byte[]". No message properties can be set — the app uses the messaging port for that.
import type { EmbeddedBroker } from '../broker/broker';
import type { EmbeddedEventHubs } from '../eventhubs/event-log';
import type { OutgoingMessage } from '../../messaging/types';
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
  ) {}

  static supported(binding: RpcBindingInfo): boolean {
    return ['http', 'serviceBus', 'eventHub'].includes(binding.type ?? '');
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
      } else if (binding.type === 'eventHub') {
        if (!this.eventHubs) throw new Error('No embedded Event Hubs (config/eventhubs.yaml)');
        const hub = resolveSettingExpression(String(binding.eventHubName ?? ''), this.env);
        // The collector batches and sends each event with round-robin partition assignment.
        for (const body of eventHubOutputBodies(data)) await this.eventHubs.publish(hub, [{ body }]);
      }
    }
  }
}
