// The binding's thread and area calls, as the threads and areas suites use
// them: `tx` is nx (scenarios/native/index.ts), named apart so that what
// the suites rely on reads as one API.
import { nx, type Nexus } from '../native/index.js';

export type { AreaInfo, RawAreaCloneResult, ReceiveResult, ThreadInfo, WaitResult } from '../native/index.js';

export const tx: Nexus = nx;
