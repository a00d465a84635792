// Schema versions of the order and inventory events, and the upcasters that bring events stored
// in an older shape to the current one when they are read.
//   ItemAdded v1 (the first release): { sku, qty, price }
//   ItemAdded v2 (current):           { sku, quantity, unitPrice } — the names of OrderLine.
import type { EventSchemas } from '../eventstore/upcasting';
import { ValidationError } from '../shared/errors';

interface ItemAddedV1 {
  sku: string;
  qty: number;
  price: number;
}

export const ORDER_EVENT_SCHEMAS: EventSchemas = {
  current: { ItemAdded: 2 },
  upcasters: {
    ItemAdded: {
      1: (data) => {
        const v1 = data as ItemAddedV1;
        return { sku: v1.sku, quantity: v1.qty, unitPrice: v1.price };
      },
    },
  },
};

export const INVENTORY_EVENT_SCHEMAS: EventSchemas = { current: {}, upcasters: {} };

/** Ids that go into stream ids and Cosmos item ids (which refuse / \ ? #). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new ValidationError(`${field} must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`, field);
  }
  return value;
}
