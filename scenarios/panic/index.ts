// panic: takes the guest kernel down on purpose, so the lab's own tests can
// check that a crash is reported as kernel-splat with the panic text.
import { writeFileSync } from 'node:fs';
import type { Suite } from '../runner/api.js';

export const suite: Suite = {
  name: 'panic',
  scenarios: [
    {
      name: 'sysrq-crash',
      timeoutMs: 30_000,
      async run(ctx) {
        writeFileSync('/proc/sysrq-trigger', 'c');
        // Not reached: the kernel panics in the write above.
        await new Promise((resolve) => setTimeout(resolve, 20_000));
        ctx.check(false, 'the guest kernel survived sysrq-trigger c');
      },
    },
  ],
};
