// The string formats the message catalog's schemas may use: date-time and email as ajv-formats
// defines them, and payment-card (digits passing the Luhn check). A module of its own because
// validators kept between starts (@backbone/azure-model/schema-compiler) refer to it by path.
import type { Format } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';
import { luhnValid } from '../security/card-numbers';

export const CATALOG_FORMATS: Record<string, Format> = {
  'date-time': fullFormats['date-time'],
  email: fullFormats.email,
  'payment-card': { type: 'string', validate: luhnValid },
};

/** This module's file, for generated code to require it; undefined when bundled into another file. */
export const CATALOG_FORMATS_MODULE: string | undefined = /catalog-formats\.[cm]?js$/.test(__filename) ? __filename : undefined;
