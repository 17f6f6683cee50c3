import * as path from 'path';
import { validate } from '../config/load';
import { EmulatedLink } from './emulated';
import { constantLinkSchema, linkSpecSchema, type LinkSpec, type LinkSpecInput } from './spec';
import { loadTrace } from './trace';
import type { Link, LinkContext } from './types';
import type { z } from 'zod';

export type { AirtimeCallback, DeliveryCallback, Link, LinkContext, LinkStats } from './types';
export { emptyStats } from './types';
export {
  constantLinkSchema, markovLinkSchema, traceLinkSchema, linkSpecSchema, lossSchema, deliverySchema, queueSchema,
  defaultHeaderBytes,
} from './spec';
export type { LinkSpec, LinkSpecInput, ConstantLinkSpec, MarkovLinkSpec, TraceLinkSpec, LossSpec, DeliverySpec } from './spec';
export { EmulatedLink } from './emulated';

/**
 * Makes a spec's trace path absolute, relative to `baseDir` (the scenario file's folder), and
 * loads the trace once so that a bad trace is reported (file and line, UserError) before any
 * simulation runs. Specs without a file are returned unchanged.
 */
export function resolveLinkSpec<T extends LinkSpec>(spec: T, baseDir: string): T {
  if (spec.type !== 'trace') return spec;
  const file = path.resolve(baseDir, spec.file);
  loadTrace(file, spec.format, spec.opportunityBytes);
  return { ...spec, file };
}

/** FIFO constant-rate link (kept for callers that build one directly; same as type 'constant'). */
export class ConstantRateLink extends EmulatedLink {
  constructor(spec: z.input<typeof constantLinkSchema>, ctx: LinkContext) {
    super(validate(linkSpecSchema, spec, ctx.name), ctx, 1);
  }
}

/**
 * Builds the links of one direction for `deviceCount` devices: by default one link per
 * device (index = device, each with its own random stream `<name>[d]`). With sharing 'fifo'
 * or 'fair' every index holds the same instance (count its stats once). Defaults are
 * applied here, so a hand-written spec works; relative trace paths resolve against
 * ctx.baseDir (see resolveLinkSpec).
 */
export function createDeviceLinks(spec: LinkSpec | LinkSpecInput, deviceCount: number, ctx: LinkContext): Link[] {
  let full = validate(linkSpecSchema, spec, ctx.name);
  full = resolveLinkSpec(full, ctx.baseDir ?? process.cwd());
  if (full.sharing !== 'per-device') {
    const link = new EmulatedLink(full, ctx, deviceCount);
    return new Array<Link>(deviceCount).fill(link);
  }
  const links: Link[] = [];
  for (let d = 0; d < deviceCount; d++) {
    // A per-device link sees one device (slot 0); its airtime belongs to device d.
    const air = ctx.onAirtime;
    const onAirtime = air ? (_slot: number, s: number, e: number, b: number) => air(d, s, e, b) : undefined;
    links.push(new EmulatedLink(full, { ...ctx, name: `${ctx.name}[${d}]`, rng: ctx.rng.fork(`${ctx.name}[${d}]`), onAirtime }, 1));
  }
  return links;
}
