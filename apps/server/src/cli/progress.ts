/** Terminal progress bars (stderr) with a rate; silent when stderr is not a terminal. */
import cliProgress from 'cli-progress';

export type ProgressBar = { update(done: number, total: number): void; stop(): void };

export function createProgressBar(label: string, unit = 'rows'): ProgressBar {
  if (!process.stderr.isTTY) {
    let lastPct = -1;
    return {
      update(done, total) {
        const pct = total > 0 ? Math.floor((done / total) * 10) * 10 : 0;
        if (pct !== lastPct) {
          lastPct = pct;
          process.stderr.write(`${label}: ${done}/${total} ${unit} (${pct}%)\n`);
        }
      },
      stop() {},
    };
  }
  const start = Date.now();
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} ${unit} {rate} ${unit}/s eta {eta}s`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      const rate = Math.round(done / Math.max((Date.now() - start) / 1000, 0.001));
      if (!started) {
        bar.start(total, done, { rate });
        started = true;
      } else bar.update(done, { rate });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
