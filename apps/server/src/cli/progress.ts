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

export type PhaseLine = { show(text: string): void; stop(): void };

/**
 * A step whose progress cannot be measured (rebuilding an index, a commit): its name on stderr and,
 * on a terminal, the seconds it has taken so far, ticking until the next step or stop().
 */
export function createPhaseLine(label: string): PhaseLine {
  const tty = process.stderr.isTTY;
  let timer: NodeJS.Timeout | null = null;
  let text = '';
  let since = 0;
  const render = () => process.stderr.write(`\r${label}: ${text} ${Math.round((Date.now() - since) / 1000)} s\x1b[K`);
  const end = () => {
    if (!timer) return;
    clearInterval(timer);
    timer = null;
    render();
    process.stderr.write('\n');
  };
  return {
    show(next) {
      end();
      text = next;
      since = Date.now();
      if (!tty) {
        process.stderr.write(`${label}: ${next}\n`);
        return;
      }
      render();
      timer = setInterval(render, 1000);
      timer.unref();
    },
    stop: end,
  };
}
