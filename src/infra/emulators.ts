// Configuration of the official local emulators, generated from config/ (npm run emulators:config):
//   - the Service Bus emulator's Config.json (one namespace, `sbemulatorns`). Its limits differ
//     from the service: message TTL at most PT1H, duplicate detection window PT5S–PT5M, filter
//     types named Sql / Correlation — values outside them are clamped, and listed.
//   - the Event Hubs emulator's Config.json (namespace `emulatorNs1`, at most 10 hubs).
import { join } from 'node:path';
import { loadEventHubsDefinition } from '@backbone/azure-model/eventhubs';
import { loadTopology } from '@backbone/azure-model/topology';
import { parseDuration } from '@backbone/azure-model/durations';

const MAX_TTL_MS = 3_600_000;
const DUP_MIN_MS = 5_000;
const DUP_MAX_MS = 300_000;

function clampDuration(value: string | undefined, min: number, max: number, what: string, notes: string[]): string | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms > max) {
    notes.push(`${what}: ${value} → ${iso(max)} (the emulator's maximum)`);
    return iso(max);
  }
  if (ms < min) {
    notes.push(`${what}: ${value} → ${iso(min)} (the emulator's minimum)`);
    return iso(min);
  }
  return value;
}

function iso(ms: number): string {
  if (ms % 3_600_000 === 0) return `PT${ms / 3_600_000}H`;
  if (ms % 60_000 === 0) return `PT${ms / 60_000}M`;
  return `PT${ms / 1000}S`;
}

export function serviceBusEmulatorConfig(configDir: string): { config: unknown; notes: string[] } {
  const topology = loadTopology(join(configDir, 'topology.yaml'));
  const notes: string[] = [];
  const queues = topology.serviceBus.queues.map((q) => ({
    Name: q.name,
    Properties: {
      DeadLetteringOnMessageExpiration: q.deadLetteringOnMessageExpiration ?? false,
      DefaultMessageTimeToLive: clampDuration(q.defaultMessageTimeToLive ?? 'PT1H', 0, MAX_TTL_MS, `queue ${q.name} defaultMessageTimeToLive`, notes),
      DuplicateDetectionHistoryTimeWindow: clampDuration(q.duplicateDetectionHistoryTimeWindow ?? 'PT20S', DUP_MIN_MS, DUP_MAX_MS, `queue ${q.name} duplicateDetectionHistoryTimeWindow`, notes),
      LockDuration: q.lockDuration ?? 'PT1M',
      MaxDeliveryCount: q.maxDeliveryCount ?? 10,
      RequiresDuplicateDetection: q.requiresDuplicateDetection ?? false,
      RequiresSession: q.requiresSession ?? false,
    },
  }));
  const topics = topology.serviceBus.topics.map((t) => ({
    Name: t.name,
    Properties: {
      DefaultMessageTimeToLive: clampDuration(t.defaultMessageTimeToLive ?? 'PT1H', 0, MAX_TTL_MS, `topic ${t.name} defaultMessageTimeToLive`, notes),
      DuplicateDetectionHistoryTimeWindow: clampDuration(t.duplicateDetectionHistoryTimeWindow ?? 'PT20S', DUP_MIN_MS, DUP_MAX_MS, `topic ${t.name} duplicateDetectionHistoryTimeWindow`, notes),
      RequiresDuplicateDetection: t.requiresDuplicateDetection ?? false,
    },
    Subscriptions: t.subscriptions.map((s) => ({
      Name: s.name,
      Properties: {
        DeadLetteringOnMessageExpiration: s.deadLetteringOnMessageExpiration ?? false,
        DefaultMessageTimeToLive: clampDuration(s.defaultMessageTimeToLive ?? 'PT1H', 0, MAX_TTL_MS, `subscription ${t.name}/${s.name} defaultMessageTimeToLive`, notes),
        LockDuration: s.lockDuration ?? 'PT1M',
        MaxDeliveryCount: s.maxDeliveryCount ?? 10,
        RequiresSession: s.requiresSession ?? false,
      },
      Rules: (s.rules ?? []).map((r) => ({
        Name: r.name,
        Properties:
          r.filterType === 'SqlFilter'
            ? { FilterType: 'Sql', SqlFilter: { SqlExpression: r.sqlFilter!.sqlExpression } }
            : {
                FilterType: 'Correlation',
                CorrelationFilter: {
                  ...(r.correlationFilter!.label ? { Label: r.correlationFilter!.label } : {}),
                  ...(r.correlationFilter!.correlationId ? { CorrelationId: r.correlationFilter!.correlationId } : {}),
                  ...(r.correlationFilter!.contentType ? { ContentType: r.correlationFilter!.contentType } : {}),
                  ...(r.correlationFilter!.messageId ? { MessageId: r.correlationFilter!.messageId } : {}),
                  ...(r.correlationFilter!.sessionId ? { SessionId: r.correlationFilter!.sessionId } : {}),
                  ...(r.correlationFilter!.to ? { To: r.correlationFilter!.to } : {}),
                  ...(r.correlationFilter!.replyTo ? { ReplyTo: r.correlationFilter!.replyTo } : {}),
                  ...(r.correlationFilter!.properties ? { Properties: r.correlationFilter!.properties } : {}),
                },
              },
      })),
    })),
  }));
  if (queues.length + topics.length > 50) throw new Error(`The Service Bus emulator takes at most 50 queues and topics; config/topology.yaml has ${queues.length + topics.length}`);
  return { config: { UserConfig: { Namespaces: [{ Name: 'sbemulatorns', Queues: queues, Topics: topics }], Logging: { Type: 'File' } } }, notes };
}

export function eventHubsEmulatorConfig(configDir: string): unknown {
  const hubs = loadEventHubsDefinition(join(configDir, 'eventhubs.yaml')).eventHubs.hubs;
  if (hubs.length > 10) throw new Error(`The Event Hubs emulator takes at most 10 hubs; config/eventhubs.yaml has ${hubs.length}`);
  return {
    UserConfig: {
      NamespaceConfig: [
        {
          Type: 'EventHub',
          Name: 'emulatorNs1',
          Entities: hubs.map((h) => ({ Name: h.name, PartitionCount: h.partitionCount, ConsumerGroups: [{ Name: '$default' }, ...h.consumerGroups.map((Name) => ({ Name }))] })),
        },
      ],
      LoggingConfig: { Type: 'File' },
    },
  };
}
