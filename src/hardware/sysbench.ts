/**
 * The single-thread `sysbench cpu` rate: the yardstick codec CPU time is scaled by between
 * the calibration host and a profile's CPU (profile.ts `cpu`). Measured when Debian's
 * sysbench is installed.
 */
import { execFileSync } from 'child_process';

/** This machine's single-thread rate (events/s), or undefined without sysbench. */
export function measureSysbench(seconds = 5): number | undefined {
  try {
    const out = execFileSync('sysbench', ['cpu', '--threads=1', `--time=${seconds}`, 'run'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /events per second:\s*([\d.]+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

