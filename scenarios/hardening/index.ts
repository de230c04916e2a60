// hardening: what issue 7 asked of the core beyond races - rights across
// users (rights.ts), per-user limits and the real cost of messages
// (limits.ts), signals that restart waits and keep their deadlines
// (signals.ts), pid and user namespaces (namespaces.ts).  Each scenario
// fails on a module without the fix and passes with it.  Issue 8 holds
// threads and areas to the same rules from the start: their rights across
// users (rights-threads-areas.ts), thread records, areas, area memory and
// thread messages within each user's share (limits.ts), the thread waits'
// signal restarts (signals.ts), thread ids and areas' teams in pid
// namespaces (namespaces.ts), and memfds that stay sealed and bounded
// whatever areas are made of them (seals.ts).  Issue 9 does the same for
// vrefs, capability messages and watches (node-monitor.ts): keys useless
// to any other team, ids that are no capability, watches only on what the
// caller may read, per-user shares of vrefs, slots, watches and queued
// events, mounts told only within their mount namespace.
import type { Suite } from '../runner/api.js';
import { scenarios as rights } from './rights.js';
import { scenarios as limits } from './limits.js';
import { scenarios as signals } from './signals.js';
import { scenarios as namespaces } from './namespaces.js';
import { scenarios as threadAreaRights } from './rights-threads-areas.js';
import { scenarios as seals } from './seals.js';
import { scenarios as nodeMonitor } from './node-monitor.js';

export const suite: Suite = {
  name: 'hardening',
  scenarios: [...rights, ...threadAreaRights, ...limits, ...signals, ...namespaces, ...seals, ...nodeMonitor],
};
