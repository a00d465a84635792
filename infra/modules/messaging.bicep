// The Service Bus namespace with every queue, topic, subscription and rule of
// config/topology.yaml. Shared-key (SAS) authentication is off: the app and the developer reach
// it with Entra ID roles (rbac.bicep); TLS 1.2 minimum. Standard by default; Premium (zone redundant)
// by parameter.
import { tagsType } from '../types.bicep'

param name string
param location string
param tags tagsType

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
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P14D'
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT10M'
    }
  }
  {
    name: 'express-processing'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P7D'
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
    }
  }
  {
    name: 'fulfilment'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P7D'
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
    }
  }
  {
    name: 'finance'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P14D'
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
    }
  }
  {
    name: 'inventory-updates'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P7D'
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
      requiresSession: true
    }
  }
  {
    name: 'order-commands'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P7D'
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
      requiresSession: true
    }
  }
  {
    name: 'ops-jobs'
    properties: {
      lockDuration: 'PT5M'
      maxDeliveryCount: 5
      defaultMessageTimeToLive: 'P1D'
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT10M'
    }
  }
  {
    name: 'audit-log'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P30D'
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
    }
  }
  {
    name: 'review'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P30D'
    }
  }
  {
    name: 'archive'
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      defaultMessageTimeToLive: 'P90D'
    }
  }
]

var topics = [
  {
    name: 'order-events'
    properties: {
      defaultMessageTimeToLive: 'P7D'
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
    }
    subscriptions: [
      {
        name: 'analytics'
        properties: {
          lockDuration: 'PT1M'
          maxDeliveryCount: 10
        }
      }
      {
        name: 'express-notifications'
        properties: {
          lockDuration: 'PT1M'
          maxDeliveryCount: 10
        }
        rules: [
          {
            name: 'critical-route'
            properties: {
              filterType: 'SqlFilter'
              sqlFilter: {
                sqlExpression: 'route = \'critical_orders\''
              }
            }
          }
        ]
      }
      {
        name: 'cancellations'
        properties: {
          lockDuration: 'PT1M'
          maxDeliveryCount: 10
        }
        rules: [
          {
            name: 'cancelled'
            properties: {
              filterType: 'CorrelationFilter'
              correlationFilter: {
                label: 'OrderCancelled'
              }
            }
          }
        ]
      }
    ]
  }
  {
    name: 'payment-events'
    properties: {
      defaultMessageTimeToLive: 'P14D'
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: 'PT1H'
    }
    subscriptions: [
      {
        name: 'ledger'
        properties: {
          lockDuration: 'PT1M'
          maxDeliveryCount: 10
        }
      }
      {
        name: 'card-payments'
        properties: {
          lockDuration: 'PT1M'
          maxDeliveryCount: 10
        }
        rules: [
          {
            name: 'card'
            properties: {
              filterType: 'SqlFilter'
              sqlFilter: {
                sqlExpression: 'method = \'card\''
              }
            }
          }
        ]
      }
    ]
  }
  {
    name: 'business-alerts'
    properties: {
      defaultMessageTimeToLive: 'P14D'
    }
    subscriptions: [
      {
        name: 'ops-team'
        properties: {
          lockDuration: 'PT1M'
          maxDeliveryCount: 10
        }
      }
    ]
  }
]
// </generated>

// Children are declared from flat lists, each naming the index of its parent in the list above,
// so every queue, topic, subscription and rule is a resource of its own in the compiled template.
var subscriptions = flatten(map(range(0, length(topics)), t => map(topics[t].subscriptions, s => {
  topic: t
  name: s.name
  properties: s.properties
  rules: s.?rules ?? []
})))

var rules = flatten(map(range(0, length(subscriptions)), s => map(subscriptions[s].rules, r => {
  subscription: s
  name: r.name
  properties: r.properties
})))

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  sku: sku == 'Premium'
    ? {
        name: 'Premium'
        tier: 'Premium'
        capacity: 1
      }
    : {
        name: 'Standard'
        tier: 'Standard'
      }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    zoneRedundant: sku == 'Premium'
  }
}

resource queueResources 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = [
  for queue in queues: {
    parent: namespace
    name: queue.name
    properties: queue.properties
  }
]

resource topicResources 'Microsoft.ServiceBus/namespaces/topics@2026-01-01' = [
  for topic in topics: {
    parent: namespace
    name: topic.name
    properties: topic.properties
  }
]

resource subscriptionResources 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2026-01-01' = [
  for subscription in subscriptions: {
    parent: topicResources[subscription.topic]
    name: subscription.name
    properties: subscription.properties
  }
]

resource ruleResources 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2026-01-01' = [
  for rule in rules: {
    parent: subscriptionResources[rule.subscription]
    name: rule.name
    properties: rule.properties
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
