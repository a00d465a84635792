// The emulators' configuration is generated from config/ (npm run emulators:config) and must be
// current; it must stay within the Service Bus and Event Hubs emulators' limits.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { eventHubsEmulatorConfig, serviceBusEmulatorConfig } from '../../src/infra/emulators';
import { parseDuration } from '@backbone/azure-model/durations';
import { repoRoot } from '../support/messaging-harness';

const config = join(repoRoot, 'config');
const committed = (name: string) => JSON.parse(readFileSync(join(repoRoot, 'emulators', name, 'Config.json'), 'utf8')) as unknown;

test('emulators/servicebus/Config.json is current with config/topology.yaml (run npm run emulators:config)', () => {
  expect(committed('servicebus')).toEqual(serviceBusEmulatorConfig(config).config);
});

test('emulators/eventhubs/Config.json is current with config/eventhubs.yaml', () => {
  expect(committed('eventhubs')).toEqual(eventHubsEmulatorConfig(config));
});

test("the Service Bus emulator config keeps within the emulator's schema: one namespace sbemulatorns, Sql/Correlation filters, TTL ≤ 1 h, every topic subscribed", () => {
  const c = committed('servicebus') as {
    UserConfig: { Namespaces: { Name: string; Queues: { Properties: Record<string, unknown> }[]; Topics: { Subscriptions: { Rules: { Properties: { FilterType: string } }[] }[] }[] }[] };
  };
  expect(c.UserConfig.Namespaces.map((n) => n.Name)).toEqual(['sbemulatorns']);
  const ns = c.UserConfig.Namespaces[0]!;
  for (const q of ns.Queues) {
    expect(parseDuration(String(q.Properties.DefaultMessageTimeToLive))).toBeLessThanOrEqual(3_600_000);
    const window = parseDuration(String(q.Properties.DuplicateDetectionHistoryTimeWindow));
    expect(window).toBeGreaterThanOrEqual(5_000);
    expect(window).toBeLessThanOrEqual(300_000);
    expect(Number(q.Properties.MaxDeliveryCount)).toBeLessThanOrEqual(10);
  }
  for (const t of ns.Topics) {
    expect(t.Subscriptions.length).toBeGreaterThan(0);
    for (const s of t.Subscriptions) for (const r of s.Rules) expect(['Sql', 'Correlation']).toContain(r.Properties.FilterType);
  }
});

test('docker-compose.yml mounts the generated configs and runs the four emulators', () => {
  const compose = parseYaml(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { image: string; volumes?: string[] }> };
  expect(Object.keys(compose.services).sort()).toEqual(['azurite', 'cosmos', 'eventhubs', 'mssql', 'servicebus']);
  expect(compose.services.servicebus!.volumes).toContain('./emulators/servicebus/Config.json:/ServiceBus_Emulator/ConfigFiles/Config.json');
  expect(compose.services.eventhubs!.volumes).toContain('./emulators/eventhubs/Config.json:/Eventhubs_Emulator/ConfigFiles/Config.json');
});
