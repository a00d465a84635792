// The operations workbook (infra/workbook.json), built from the KQL in infra/queries/ so the
// queries live in files that tests can read: a correlationId parameter and the transaction view,
// saga outcomes over time, dead letters by reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const WORKBOOK_QUERIES = [
  { file: 'transaction-by-correlation.kql', title: 'One business transaction, end to end', visualization: 'table' },
  { file: 'saga-outcomes.kql', title: 'Saga outcomes over time', visualization: 'timechart' },
  { file: 'dead-letters-by-reason.kql', title: 'Dead letters by reason', visualization: 'barchart' },
] as const;

export function buildWorkbook(infraDir: string): unknown {
  const query = (file: string) => readFileSync(join(infraDir, 'queries', file), 'utf8').trim();
  return {
    version: 'Notebook/1.0',
    items: [
      { type: 1, content: { json: '## Integration backbone\nOne business transaction by correlationId, saga outcomes, dead letters.' }, name: 'title' },
      {
        type: 9,
        content: {
          version: 'KqlParameterItem/1.0',
          parameters: [{ id: 'correlation', version: 'KqlParameterItem/1.0', name: 'CorrelationId', type: 1, isRequired: false, value: '' }],
          style: 'pills',
          queryType: 0,
          resourceType: 'microsoft.insights/components',
        },
        name: 'parameters',
      },
      ...WORKBOOK_QUERIES.map((q, i) => ({
        type: 3,
        content: {
          version: 'KqlItem/1.0',
          query: query(q.file),
          size: 0,
          title: q.title,
          queryType: 0,
          resourceType: 'microsoft.insights/components',
          visualization: q.visualization,
        },
        name: `query-${i}`,
      })),
    ],
    fallbackResourceIds: [],
    $schema: 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json',
  };
}

export const workbookQueryFiles = WORKBOOK_QUERIES.map((q) => q.file);
