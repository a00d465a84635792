// Types the modules share (compile-time imports: nothing is fetched from a registry).

@export()
@description('Tags on every resource: azd finds the environment by azd-env-name (and the app by azd-service-name).')
type tagsType = {
  'azd-env-name': string
  *: string
}
