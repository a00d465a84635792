// The Event Hubs namespace with the hubs and consumer groups of config/eventhubs.yaml. SAS
// authentication is off (data-plane roles only); TLS 1.2 minimum. One throughput unit (Standard).
import { tagsType } from '../types.bicep'

param name string
param location string
param tags tagsType
param logAnalyticsWorkspaceId string

// <generated source="config/eventhubs.yaml"> written by npm run infra:sync; edit config/eventhubs.yaml, not this block
var eventHubs = [
  {
    name: 'integration-events'
    properties: {
      partitionCount: 4
      messageRetentionInDays: 1
    }
    consumerGroups: [
      'sales-metrics'
    ]
  }
]
// </generated>

// Throughput units of the Standard namespace (the cost model reads this line).
var throughputUnits = 1

// $Default exists in every event hub; the others are declared per hub.
var consumerGroups = flatten(map(range(0, length(eventHubs)), h => map(eventHubs[h].consumerGroups, g => {
  hub: h
  name: g
})))

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    zoneRedundant: false
    isAutoInflateEnabled: false
  }
}

resource hubResources 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' = [
  for hub in eventHubs: {
    parent: namespace
    name: hub.name
    properties: hub.properties
  }
]

resource consumerGroupResources 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2026-01-01' = [
  for group in consumerGroups: {
    parent: hubResources[group.hub]
    name: group.name
  }
]

// 2021-05-01-preview is the newest diagnosticSettings version, and the first with categoryGroup.
#disable-next-line use-recent-api-versions
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = namespace.name
output resourceId string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
