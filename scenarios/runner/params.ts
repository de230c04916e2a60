// Reading a run parameter (`--param NAME=VALUE`, a string in job.json) as a
// number: the guest runner's ctx.param, and the host where it sizes
// deadlines from the same parameters.

/** `params[name]` as a number, `fallback` when it is not given; throws when it is no number. */
export function numberParam(params: Readonly<Record<string, string>>, name: string, fallback: number): number {
  const text = params[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`run parameter ${name}=${text} is not a number`);
  return n;
}
