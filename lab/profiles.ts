// Profiles as lists of steps: `quick` and `release` are two lists of the
// same parts (lab/steps/), run by the pipeline.
import type { Step } from './pipeline.js';
import { bootStep } from './steps/boot.js';
import { buildStep } from './steps/build.js';
import { quickImageStep } from './steps/image.js';
import { loadStep } from './steps/load.js';
import { countersStep, runStep } from './steps/suites.js';
import { collectStep, poweroffStep, unloadStep } from './steps/teardown.js';
import {
  bootLoadStep, installStep, purgeStep, releaseCollectStep, releaseImageStep, releasePoweroffStep, releaseRunStep,
  releaseUnloadStep, upgradeStep,
} from './steps/release.js';

export const QUICK_STEPS: readonly Step[] = [
  buildStep, quickImageStep, bootStep, loadStep, runStep, countersStep, unloadStep, collectStep, poweroffStep,
];

export const RELEASE_STEPS: readonly Step[] = [
  releaseImageStep, bootStep, installStep, bootLoadStep, releaseRunStep, releaseUnloadStep, upgradeStep, purgeStep,
  releaseCollectStep, releasePoweroffStep,
];

export function stepsOf(profile: string): readonly Step[] {
  switch (profile) {
    case 'quick':
      return QUICK_STEPS;
    case 'release':
      return RELEASE_STEPS;
    default:
      throw new Error(`no steps for profile '${profile}'`);
  }
}
