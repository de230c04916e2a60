// smoke: the first slice of nexus.ko - /dev/nexus exists, and teams come
// and go with the processes that open it.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import type { Ctx, Suite } from '../runner/api.js';
import { Holder, NEXUS_DEVICE } from '../lib/guest.js';

async function holder(ctx: Ctx): Promise<Holder> {
  const h = await Holder.start();
  ctx.defer(() => h.kill());
  return h;
}

export const suite: Suite = {
  name: 'smoke',
  scenarios: [
    {
      name: 'device-node',
      run(ctx) {
        const st = statSync(NEXUS_DEVICE);
        ctx.check(st.isCharacterDevice(), `${NEXUS_DEVICE} is a character device`);
        ctx.equal((st.mode & 0o777).toString(8), '666', `${NEXUS_DEVICE} mode`);
        const c = ctx.counters('idle');
        ctx.check('teams' in c, 'the counters file has a teams line', 'teams', Object.keys(c));
        // Only the runner itself may be a team already (a suite before this
        // one used the binding, which keeps its descriptor).
        const own = readdirSync('/proc/self/fd').some((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`) === NEXUS_DEVICE;
          } catch {
            return false;
          }
        });
        ctx.equal(c.teams, own ? 1 : 0, 'no team exists but the processes that opened the device');
      },
    },
    {
      name: 'two-processes-two-teams',
      async run(ctx) {
        const base = ctx.counters('before').teams;
        const a = await holder(ctx);
        const b = await holder(ctx);
        await a.open(3);
        await b.open(3);
        ctx.equal(ctx.counters('both open').teams, base! + 2, 'two processes with /dev/nexus open are two teams');
        ctx.equal(await a.exit(), 0, 'first holder exit code');
        ctx.equal(ctx.counters('first exited').teams, base! + 1, "the first process's exit destroys its team");
        ctx.equal(await b.exit(), 0, 'second holder exit code');
        ctx.equal(ctx.counters('both exited').teams, base, "the second process's exit destroys its team");
      },
    },
    {
      name: 'reopen-reuses-team',
      async run(ctx) {
        const base = ctx.counters('before').teams;
        const h = await holder(ctx);
        await h.open(3);
        await h.open(4);
        ctx.equal(ctx.counters('opened twice').teams, base! + 1, 'a second open by the same process reuses its team');
        await h.close(3);
        ctx.equal(ctx.counters('one closed').teams, base! + 1, 'the team lives while one descriptor is open');
        await h.close(4);
        ctx.equal(ctx.counters('both closed').teams, base, 'closing the last descriptor destroys the team');
        ctx.equal(await h.exit(), 0, 'holder exit code');
      },
    },
  ],
};
