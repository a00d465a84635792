// The Cosmos DB account (serverless by default, autoscale by parameter) with the database and
// the containers of config/cosmos.yaml — partition keys, TTL, and indexing policies that index
// only the paths the code filters and sorts on. Key-based access is off (data-plane roles only), and so are key-based metadata writes;
// TLS 1.2 minimum.
import { tagsType } from '../types.bicep'

param name string
param location string
param tags tagsType
param databaseName string

@allowed([
  'serverless'
  'autoscale'
])
param throughputMode string = 'serverless'

param autoscaleMaxThroughput int = 4000
param logAnalyticsWorkspaceId string

// <generated source="config/cosmos.yaml"> written by npm run infra:sync; edit config/cosmos.yaml, not this block
var containers = [
  {
    name: 'events'
    resource: {
      id: 'events'
      partitionKey: {
        paths: [
          '/streamId'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/streamId/?'
          }
          {
            path: '/version/?'
          }
          {
            path: '/kind/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
  }
  {
    name: 'views'
    resource: {
      id: 'views'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/pk/?'
          }
          {
            path: '/kind/?'
          }
          {
            path: '/sortKey/?'
          }
          {
            path: '/generation/?'
          }
          {
            path: '/projection/?'
          }
          {
            path: '/revenue/?'
          }
          {
            path: '/status/?'
          }
          {
            path: '/finishedAt/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
  }
  {
    name: 'leases'
    resource: {
      id: 'leases'
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
        version: 2
      }
    }
  }
  {
    name: 'idempotency'
    resource: {
      id: 'idempotency'
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: -1
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: []
        excludedPaths: [
          {
            path: '/*'
          }
        ]
      }
    }
  }
  {
    name: 'ledgers'
    resource: {
      id: 'ledgers'
      partitionKey: {
        paths: [
          '/pk'
        ]
        kind: 'Hash'
        version: 2
      }
    }
  }
]
// </generated>

resource account 'Microsoft.DocumentDB/databaseAccounts@2026-03-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: throughputMode == 'serverless'
      ? [
          {
            name: 'EnableServerless'
          }
        ]
      : []
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2026-03-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: throughputMode == 'autoscale'
      ? {
          autoscaleSettings: {
            maxThroughput: autoscaleMaxThroughput
          }
        }
      : {}
  }
}

resource containerResources 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2026-03-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: container.resource
    }
  }
]

// 2021-05-01-preview is the newest diagnosticSettings version, and the first with categoryGroup.
#disable-next-line use-recent-api-versions
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
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
        category: 'Requests'
        enabled: true
      }
    ]
  }
}

output name string = account.name
output resourceId string = account.id
output endpoint string = account.properties.documentEndpoint
