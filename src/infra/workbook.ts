// The operations workbook (infra/workbook.json), built from the KQL in infra/queries/ so the
// queries live in files that tests can read. It shows what the embedded host's dashboard shows,
// from Application Insights: message flow, dead letters, sagas (by status, one saga's timeline),
// projection lag, and one business transaction by correlationId.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const WORKBOOK_QUERIES = [
  { file: 'message-flow.kql', title: 'Message flow per destination', visualization: 'timechart' },
  { file: 'dead-letters-by-reason.kql', title: 'Dead letters by reason', visualization: 'barchart' },
  { file: 'saga-outcomes.kql', title: 'Saga outcomes over time', visualization: 'timechart' },
  { file: 'saga-list.kql', title: 'Sagas by status', visualization: 'table' },
  { file: 'saga-timeline.kql', title: 'One saga: steps and compensations', visualization: 'table' },
  { file: 'projection-lag.kql', title: 'Projection lag', visualization: 'timechart' },
  { file: 'transaction-by-correlation.kql', title: 'One business transaction, end to end', visualization: 'table' },
] as const;

export function buildWorkbook(infraDir: string): unknown {
  const query = (file: string) => readFileSync(join(infraDir, 'queries', file), 'utf8').trim();
  return {
    version: 'Notebook/1.0',
    items: [
      { type: 1, content: { json: '## Integration backbone\nFlow, dead letters, sagas, projections, and one business transaction by correlationId.' }, name: 'title' },
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
