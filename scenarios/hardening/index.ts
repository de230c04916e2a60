// hardening: what issue 7 asked of the core beyond races - rights across
// users (rights.ts), per-user limits and the real cost of messages
// (limits.ts), signals that restart waits and keep their deadlines
// (signals.ts), pid and user namespaces (namespaces.ts).  Each scenario
// fails on a module without the fix and passes with it.
import type { Suite } from '../runner/api.js';
import { scenarios as rights } from './rights.js';
import { scenarios as limits } from './limits.js';
import { scenarios as signals } from './signals.js';
import { scenarios as namespaces } from './namespaces.js';

export const suite: Suite = { name: 'hardening', scenarios: [...rights, ...limits, ...signals, ...namespaces] };
