// Settling a message from a function on Service Bus SDK-type bindings
// (@azure/functions-extensions-servicebus). Two things the preview extension leaves to the caller:
// propertiesToModify is an AMQP-encoded map, and the dead-letter reason and description are
// google.protobuf.StringValue fields — passing plain strings, as its types suggest, fails to
// serialize, so they are wrapped here.
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import rhea from 'rhea';
import { CATEGORY_PROPERTY, categorise } from '../esb/dead-letter-categories';
import type { PropertyValue } from '@backbone/azure-model/service-bus';
import { count } from '../observability/metrics';

type Actions = ServiceBusMessageContext['actions'];

export function encodePropertiesToModify(properties: Record<string, PropertyValue> | undefined): Uint8Array | undefined {
  if (!properties || Object.keys(properties).length === 0) return undefined;
  // rhea's writer is public at run time but missing from its typings.
  const { Writer } = rhea.types as unknown as { Writer: new () => { write(v: unknown): void; toBuffer(): Buffer } };
  const writer = new Writer();
  writer.write(rhea.types.wrap_map(properties));
  return writer.toBuffer();
}

const stringValue = (value: string) => ({ value }) as unknown as string;

export async function deadLetter(actions: Actions, message: ServiceBusReceivedMessage, reason: string, description: string, properties?: Record<string, PropertyValue>): Promise<void> {
  await actions.deadletter(message, encodePropertiesToModify(properties), stringValue(reason), stringValue(description));
  count('esb.deadletters', { reason, category: categorise(reason, properties?.[CATEGORY_PROPERTY]) });
}

export async function complete(actions: Actions, message: ServiceBusReceivedMessage): Promise<void> {
  await actions.complete(message);
}

/** Sets the message aside in its queue: out of the receive loop, still there to browse and fetch by sequence number. */
export async function defer(actions: Actions, message: ServiceBusReceivedMessage, properties?: Record<string, PropertyValue>): Promise<void> {
  await actions.defer(message, encodePropertiesToModify(properties));
}
