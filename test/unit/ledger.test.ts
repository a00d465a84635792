// A participant's ledger applies an effect once per order and step, undoes it once, and refuses
// an effect that lands after its compensation — on the embedded document store, counting what
// each call asks of the container (a step that runs once costs one create, no read).
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { Ledger } from '../../src/participants/ledger';
import type { DocumentContainer } from '../../src/ports/documents';
import { embeddedDocumentHarness } from '../support/document-harness';
import { repoRoot } from '../support/messaging-harness';

function setup() {
  const h = embeddedDocumentHarness(loadCosmosDefinition(join(repoRoot, 'config', 'cosmos.yaml')));
  const real = h.container('ledgers');
  const asked: string[] = [];
  const counted: DocumentContainer = new Proxy(real, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        asked.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { h, ledger: new Ledger(counted, 'invoicing'), asked };
}

describe('participant ledger', () => {
  test('a step applied for the first time is one create, no read', async () => {
    const { h, ledger, asked } = setup();
    const r = await ledger.apply('o-1', 'invoice', { amount: 10 });
    expect(r).toMatchObject({ first: true, refused: false, entry: { state: 'applied', effect: { amount: 10 } } });
    expect(asked).toEqual(['create']);
    await h.close();
  });

  test('the same step again returns the first entry and applies nothing', async () => {
    const { h, ledger } = setup();
    await ledger.apply('o-1', 'invoice', { amount: 10 });
    const again = await ledger.apply('o-1', 'invoice', { amount: 99 });
    expect(again).toMatchObject({ first: false, refused: false, entry: { effect: { amount: 10 } } });
    await h.close();
  });

  test('many concurrent runs of one step: exactly one is first', async () => {
    const { h, ledger } = setup();
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.apply('o-1', 'invoice', { run: i })));
    expect(runs.filter((r) => r.first)).toHaveLength(1);
    const firstEffect = runs.find((r) => r.first)!.entry.effect;
    for (const r of runs) expect(r.entry.effect).toEqual(firstEffect);
    await h.close();
  });

  test('compensated once; a compensation before the effect leaves a tombstone that refuses the late effect', async () => {
    const { h, ledger } = setup();
    await ledger.apply('o-1', 'invoice', { amount: 10 });
    expect(await ledger.compensate('o-1', 'invoice')).toMatchObject({ undone: true, entry: { state: 'compensated' } });
    expect(await ledger.compensate('o-1', 'invoice')).toMatchObject({ undone: false });
    expect(await ledger.apply('o-1', 'invoice', { amount: 10 })).toMatchObject({ refused: true, first: false });

    expect(await ledger.compensate('o-2', 'invoice')).toMatchObject({ undone: false, entry: { state: 'cancelled-before-applied' } });
    expect(await ledger.apply('o-2', 'invoice', { amount: 10 })).toMatchObject({ refused: true, first: false });
    await h.close();
  });
});
