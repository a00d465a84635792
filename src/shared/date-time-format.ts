// ajv-formats' date-time (RFC 3339 with a time zone), for the schemas in this code, with the module
// that exports it so validators kept between starts can require it (none when bundled).
import type { Format } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';

function formatsModule(): { path: string; exportName: string } | undefined {
  try {
    return { path: require.resolve('ajv-formats/dist/formats'), exportName: 'fullFormats' };
  } catch {
    return undefined;
  }
}

const exporter = formatsModule();

export const DATE_TIME_FORMAT: { formats: Record<string, Format>; module?: { path: string; exportName: string } } = {
  formats: { 'date-time': fullFormats['date-time'] },
  ...(exporter ? { module: exporter } : {}),
};
