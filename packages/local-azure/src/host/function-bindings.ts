// How the host binds each function of the app, as the Functions host indexes them: a function with
// a binding it does not run is left out with a warning (an HTTP one answers 501), the others are
// checked (connections defined, entities the outputs name exist) and handed to their listener.
import type { EmbeddedBroker } from '../broker/broker';
import { subscriptionPath } from '../broker/entities';
import type { DurableEngine } from '../durable/engine';
import type { EmbeddedEventHubs } from '../eventhubs/event-log';
import type { RpcBindingInfo } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import type { CosmosDBListener } from './cosmosdb-listener';
import type { EventHubListener } from './eventhub-listener';
import type { HostConfig } from './host-config';
import type { FunctionInfo } from './host';
import type { HttpListener } from './http-listener';
import type { HostLogger } from './logger';
import { OutputBindings } from './output-bindings';
import type { ServiceBusListener } from './servicebus-listener';
import { connectionConfigured, resolveSettingExpression } from './settings';
import type { TimerListener } from './timer-listener';

export const SUPPORTED_TRIGGERS = new Set(['httpTrigger', 'serviceBusTrigger', 'timerTrigger', 'cosmosDBTrigger', 'eventHubTrigger', 'orchestrationTrigger', 'activityTrigger', 'entityTrigger']);
export const SUPPORTED_INPUTS = new Set(['durableClient', 'orchestrationClient']);

export interface FunctionBinder {
  logger: HostLogger;
  env: NodeJS.ProcessEnv;
  config: HostConfig;
  http: HttpListener;
  serviceBus: ServiceBusListener;
  durable: DurableEngine;
  eventHubListener: EventHubListener;
  cosmosListener: CosmosDBListener;
  timers: TimerListener;
  broker: EmbeddedBroker;
  eventHubs: EmbeddedEventHubs;
  /** What the start-up log lists. */
  infos: FunctionInfo[];
  /** Listeners to start once the HTTP listener is up. */
  starters: (() => void)[];
}

export function bindFunction(fn: RegisteredFunction, b: FunctionBinder): void {
  const { logger, env, config, http, serviceBus, durable, eventHubListener, cosmosListener, timers, broker, eventHubs, infos, starters } = b;
  const [triggerName, trigger] = Object.entries(fn.metadata.bindings).find(([, b]) => b.direction === 'in' && b.type?.endsWith('Trigger'))!;
  const type = trigger.type!;
  const where = `function '${fn.metadata.name}'`;
  // As Azure does with a function it cannot index, one the embedded host cannot run is left
  // out, with a warning naming it and the binding; the rest of the app runs. An HTTP one
  // answers 501 with the reason, so a caller is not left with a 404.
  const unsupported = unsupportedBinding(fn, type);
  if (unsupported) {
    logger.log('warning', 'Host.Startup', `${where} is not loaded: ${unsupported}. The other functions run.`);
    if (type === 'httpTrigger') http.add(fn, triggerName, `${where} is not run by the embedded host: ${unsupported}`);
    infos.push({ name: fn.metadata.name, trigger: type, bindings: fn.metadata.bindings, unavailable: unsupported });
    return;
  }
  for (const [, b] of Object.entries(fn.metadata.bindings)) {
    if (b.type?.startsWith('serviceBus')) {
      const connection = typeof b.connection === 'string' && b.connection ? b.connection : 'AzureWebJobsServiceBus';
      if (!connectionConfigured(connection, env)) {
        throw new Error(`${where}: Service Bus account connection string '${connection}' does not exist. Make sure that it is a defined App Setting.`);
      }
    }
    if (b.type === 'eventHub' && b.direction === 'out') {
      const connection = typeof b.connection === 'string' ? b.connection : '';
      if (!connection || (!env[connection] && !env[`${connection}__fullyQualifiedNamespace`])) {
        throw new Error(`${where}: Event Hubs connection '${connection || '(none)'}' does not exist. Make sure that it is a defined App Setting.`);
      }
      eventHubs.hub(resolveSettingExpression(String(b.eventHubName ?? ''), env));
    }
    if (b.type === 'serviceBus' && b.direction === 'out') {
      broker.entities.sending(resolveSettingExpression(String(b.queueName ?? b.topicName ?? ''), env));
    }
  }
  const info: FunctionInfo = { name: fn.metadata.name, trigger: type, bindings: fn.metadata.bindings };
  infos.push(info);
  if (type === 'httpTrigger') {
    http.add(fn, triggerName);
  } else if (type === 'serviceBusTrigger') {
    starters.push(() => serviceBus.start(serviceBusSpec(fn, triggerName, trigger, config, env, broker, logger)));
  } else if (type === 'orchestrationTrigger') {
    durable.addOrchestrator(fn, triggerName);
  } else if (type === 'activityTrigger') {
    durable.addActivity(fn, triggerName);
  } else if (type === 'entityTrigger') {
    durable.addEntity(fn, triggerName);
  } else if (type === 'eventHubTrigger') {
    eventHubListener.add(eventHubListener.spec(fn, triggerName, trigger));
  } else if (type === 'cosmosDBTrigger') {
    // As Azure's host does when a listener cannot start (a lease container that does not
    // exist, a database the store does not hold): an error naming it, and the rest runs.
    let spec: ReturnType<CosmosDBListener['spec']>;
    try {
      spec = cosmosListener.spec(fn, triggerName, trigger);
    } catch (error) {
      logger.log('error', 'Host.Startup', `The listener for function '${fn.metadata.name}' was unable to start. ${(error as Error).message}`);
      return;
    }
    cosmosListener.add(spec);
  } else if (type === 'timerTrigger') {
    timers.add(fn, triggerName);
    starters.push(() => undefined);
  }
}

function serviceBusSpec(fn: RegisteredFunction, triggerName: string, trigger: RpcBindingInfo, config: HostConfig, env: NodeJS.ProcessEnv, broker: EmbeddedBroker, logger: HostLogger) {
  const where = `function '${fn.metadata.name}'`;
  const path =
    typeof trigger.queueName === 'string'
      ? resolveSettingExpression(trigger.queueName, env)
      : subscriptionPath(resolveSettingExpression(String(trigger.topicName), env), resolveSettingExpression(String(trigger.subscriptionName), env));
  const { entity } = broker.entities.receiving(path);
  const sessions = trigger.isSessionsEnabled === true;
  if (sessions !== entity.receiver.requiresSession) {
    throw new Error(`${where}: isSessionsEnabled is ${sessions} but '${path}' ${entity.receiver.requiresSession ? 'requires' : 'does not support'} sessions`);
  }
  if (fn.metadata.retryOptions) {
    logger.log('warning', 'Host.Startup', `Soon retries will not be supported for function 'Functions.${fn.metadata.name}'. For more information, please visit http://aka.ms/func-retry-policies.`);
  }
  return {
    fn,
    sdkBinding: usesSdkBinding(trigger),
    triggerName,
    entityPath: path,
    sessions,
    many: trigger.cardinality === 'many',
    dataType: typeof trigger.dataType === 'string' ? trigger.dataType : undefined,
    autoComplete: typeof trigger.autoCompleteMessages === 'boolean' ? trigger.autoCompleteMessages : config.serviceBus.autoCompleteMessages,
    maxBatchSize: typeof trigger.maxMessageBatchSize === 'number' ? trigger.maxMessageBatchSize : config.serviceBus.maxMessageBatchSize,
  };
}

function unsupportedBinding(fn: RegisteredFunction, triggerType: string): string | undefined {
  if (!SUPPORTED_TRIGGERS.has(triggerType)) return `its trigger type ${triggerType} is not one the embedded host runs`;
  for (const [name, b] of Object.entries(fn.metadata.bindings)) {
    if (b.direction === 'in' && !b.type?.endsWith('Trigger') && !SUPPORTED_INPUTS.has(b.type ?? '')) return `its input binding '${name}' of type ${b.type} is not supported by the embedded host`;
    if (b.direction === 'out' && !OutputBindings.supported(b)) return `its output binding '${name}' of type ${b.type} is not supported by the embedded host`;
  }
  return undefined;
}

/** A Service Bus trigger that binds the SDK's message types (@azure/functions-extensions-servicebus): settled through the host's gRPC service. */
export function usesSdkBinding(binding: RpcBindingInfo): boolean {
  const properties = binding.properties as Record<string, unknown> | undefined;
  return binding.type === 'serviceBusTrigger' && (binding.sdkBinding === true || properties?.supportsDeferredBinding === 'true');
}
