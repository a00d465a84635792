// The Cosmos DB account (serverless by default, autoscale by parameter) with the database and
// the containers of config/cosmos.yaml — partition keys, TTL, and indexing policies that index
// only the paths the code filters and sorts on. Key-based access is off (data-plane roles only).
param name string
param location string
param tags object
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
    paths: [
      '/streamId'
    ]
    kind: 'Hash'
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
  {
    name: 'views'
    paths: [
      '/pk'
    ]
    kind: 'Hash'
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
  {
    name: 'leases'
    paths: [
      '/id'
    ]
    kind: 'Hash'
  }
  {
    name: 'idempotency'
    paths: [
      '/id'
    ]
    kind: 'Hash'
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
  {
    name: 'ledgers'
    paths: [
      '/pk'
    ]
    kind: 'Hash'
  }
]
// </generated>

module account 'br/public:avm/res/document-db/database-account:0.20.1' = {
  name: 'cosmos'
  params: {
    name: name
    location: location
    tags: tags
    disableLocalAuthentication: true
    disableKeyBasedMetadataWriteAccess: true
    zoneRedundant: false
    failoverLocations: [
      {
        failoverPriority: 0
        isZoneRedundant: false
        locationName: location
      }
    ]
    capabilitiesToAdd: throughputMode == 'serverless' ? [ 'EnableServerless' ] : []
    networkRestrictions: {
      publicNetworkAccess: 'Enabled'
      ipRules: []
      virtualNetworkRules: []
    }
    sqlDatabases: [
      {
        name: databaseName
        autoscaleSettingsMaxThroughput: throughputMode == 'autoscale' ? autoscaleMaxThroughput : null
        containers: containers
      }
    ]
    diagnosticSettings: [
      {
        workspaceResourceId: logAnalyticsWorkspaceId
      }
    ]
  }
}

output name string = account.outputs.name
output resourceId string = account.outputs.resourceId
output endpoint string = account.outputs.endpoint
