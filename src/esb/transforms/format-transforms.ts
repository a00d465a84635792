// Format conversions of one model: json ↔ xml and json ↔ csv for every model, json ↔ avro for
// models with an Avro schema. Every other pair is reached through json by the transform graph.
import type { Transform } from './graph';
import { decodeAvro, encodeAvro } from '../formats/avro';
import { parseCsv, rowToPayload, toCsv } from '../formats/csv';
import { envelopeToXml, parseXmlDocument, payloadToXml, readXmlEnvelope, xmlToPayload } from '../formats/xml';
import type { MessageModel } from '../schemas';
import { splitModel, type Doc } from './document';

export function formatTransforms(model: MessageModel): Transform[] {
  const name = model.name;
  const t = (from: Doc['format'], to: Doc['format'], apply: (doc: Doc) => unknown): Transform => ({
    name: `${name}:${from}-to-${to}`,
    from: { model: name, format: from },
    to: { model: name, format: to },
    apply: (doc) => ({ ...doc, format: to, content: apply(doc) }),
  });
  const transforms: Transform[] = [
    t('json', 'xml', (doc) => (model.xmlRoot ? payloadToXml(model.xmlRoot, doc.content) : envelopeToXml({ ...splitModel(name), ...doc.meta, payload: doc.content }))),
    t('xml', 'json', (doc) => {
      const parsed = parseXmlDocument(doc.content as string);
      if (parsed.root === 'message') return xmlToPayload(model.schema, readXmlEnvelope(parsed).payloadNode);
      if (parsed.root === model.xmlRoot) return xmlToPayload(model.schema, parsed.node);
      throw new Error(`<${parsed.root}> is not an XML form of ${name}`);
    }),
    t('json', 'csv', (doc) => toCsv([{ payload: doc.content }])),
    t('csv', 'json', (doc) => {
      const table = parseCsv(doc.content as string);
      if (table.rows.length !== 1) throw new Error(`A ${name} CSV document has one row, not ${table.rows.length}`);
      return rowToPayload(table.rows[0]!, model.schema, 'row');
    }),
  ];
  if (model.avro) {
    transforms.push(
      t('json', 'avro', (doc) => encodeAvro(model, doc.content)),
      t('avro', 'json', (doc) => decodeAvro(model, doc.content as Buffer)),
    );
  }
  return transforms;
}
