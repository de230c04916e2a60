// stress: placeholder, filled in by its own change.
import type { Suite } from '../runner/api.js';

export const suite: Suite = { name: 'stress', scenarios: [] };
