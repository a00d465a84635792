// The host process the crash tests kill; shared with `npm run chaos`.
export { ChildHost } from '../../scripts/support/child-host';
