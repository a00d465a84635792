// The Service Bus namespace with every queue, topic, subscription and rule of
// config/topology.yaml. Shared-key (SAS) authentication is off: the app and the developer reach
// it with Entra ID roles (rbac.bicep). Standard by default; Premium (zone redundant) by parameter.
param name string
param location string
param tags object

@allowed([
  'Standard'
  'Premium'
])
param sku string = 'Standard'

param logAnalyticsWorkspaceId string

// <generated source="config/topology.yaml"> written by npm run infra:sync; edit config/topology.yaml, not this block
var queues = [
  {
    name: 'inbound'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P14D'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
  }
  {
    name: 'express-processing'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P7D'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
  }
  {
    name: 'fulfilment'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P7D'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
  }
  {
    name: 'finance'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P14D'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
  }
  {
    name: 'inventory-updates'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P7D'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    requiresSession: true
  }
  {
    name: 'order-commands'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P7D'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    requiresSession: true
  }
  {
    name: 'ops-jobs'
    lockDuration: 'PT5M'
    maxDeliveryCount: 5
    defaultMessageTimeToLive: 'P1D'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
  }
  {
    name: 'audit-log'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P30D'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
  }
  {
    name: 'review'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P30D'
  }
  {
    name: 'archive'
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P90D'
  }
]

var topics = [
  {
    name: 'order-events'
    defaultMessageTimeToLive: 'P7D'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    subscriptions: [
      {
        name: 'analytics'
        lockDuration: 'PT1M'
        maxDeliveryCount: 10
      }
      {
        name: 'express-notifications'
        lockDuration: 'PT1M'
        maxDeliveryCount: 10
        rules: [
          {
            name: 'critical-route'
            filterType: 'SqlFilter'
            sqlFilter: {
              sqlExpression: 'route = \'critical_orders\''
            }
          }
        ]
      }
      {
        name: 'cancellations'
        lockDuration: 'PT1M'
        maxDeliveryCount: 10
        rules: [
          {
            name: 'cancelled'
            filterType: 'CorrelationFilter'
            correlationFilter: {
              label: 'OrderCancelled'
            }
          }
        ]
      }
    ]
  }
  {
    name: 'payment-events'
    defaultMessageTimeToLive: 'P14D'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    subscriptions: [
      {
        name: 'ledger'
        lockDuration: 'PT1M'
        maxDeliveryCount: 10
      }
      {
        name: 'card-payments'
        lockDuration: 'PT1M'
        maxDeliveryCount: 10
        rules: [
          {
            name: 'card'
            filterType: 'SqlFilter'
            sqlFilter: {
              sqlExpression: 'method = \'card\''
            }
          }
        ]
      }
    ]
  }
  {
    name: 'business-alerts'
    defaultMessageTimeToLive: 'P14D'
    subscriptions: [
      {
        name: 'ops-team'
        lockDuration: 'PT1M'
        maxDeliveryCount: 10
      }
    ]
  }
]
// </generated>

module namespace 'br/public:avm/res/service-bus/namespace:0.17.0' = {
  name: 'servicebus'
  params: {
    name: name
    location: location
    tags: tags
    skuObject: sku == 'Premium' ? { name: 'Premium', capacity: 1 } : { name: 'Standard' }
    zoneRedundant: sku == 'Premium'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    queues: queues
    topics: topics
    diagnosticSettings: [
      {
        workspaceResourceId: logAnalyticsWorkspaceId
        logCategoriesAndGroups: [
          {
            categoryGroup: 'allLogs'
          }
        ]
        metricCategories: [
          {
            category: 'AllMetrics'
          }
        ]
      }
    ]
  }
}

output name string = namespace.outputs.name
output resourceId string = namespace.outputs.resourceId
output fullyQualifiedNamespace string = '${namespace.outputs.name}.servicebus.windows.net'
