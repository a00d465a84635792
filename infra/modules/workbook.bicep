// The operations workbook in Azure Monitor: one business transaction end to end by
// correlationId, saga outcomes over time, dead letters by reason (infra/workbook.json; its KQL
// lives in infra/queries/).
import { tagsType } from '../types.bicep'

param location string
param tags tagsType
param applicationInsightsId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'integration-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Integration backbone operations'
    category: 'workbook'
    sourceId: applicationInsightsId
    version: '1.0'
    serializedData: string(loadJsonContent('../workbook.json'))
  }
}

output workbookId string = workbook.id
