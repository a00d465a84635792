// Alert rules: dead letters waiting (any queue or subscription, 5 minutes), a saga that could not
// compensate, the functions' failure rate, and projection lag. They notify the action group
// (an email when alertEmail is given).
import { tagsType } from '../types.bicep'

param location string
param tags tagsType
param actionGroupName string
param alertEmail string = ''
param serviceBusNamespaceId string
param applicationInsightsId string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'integration'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'operations'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

resource deadLetters 'Microsoft.Insights/metricAlerts@2026-01-01' = {
  name: 'dead-letters-waiting'
  location: 'global'
  tags: tags
  properties: {
    description: 'Messages have been waiting in a dead-letter queue for 5 minutes (per queue or topic).'
    severity: 2
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'deadLettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          timeAggregation: 'Minimum'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

resource compensationFailed 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'saga-compensation-failed'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'A fulfilment saga could not compensate'
    description: 'A saga ended in CompensationFailed: effects may remain applied and need a person.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-compensation-failed.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource failureRate 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'function-failure-rate'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Function failure rate above 5%'
    description: 'More than 5% of function invocations failed over 15 minutes (at least 20 invocations).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-failure-rate.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource projectionLag 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'projection-lag'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Read models lag behind the event store'
    description: 'The average time from an event being appended to its views being written was above 10 s over 15 minutes.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-projection-lag.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}
