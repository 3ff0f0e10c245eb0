// The browser clock as reactive state, ticking once a second: the one place the dashboard reads
// wall time, used only to show how old the data is. Components receive `nowMs` as a prop.

export const clockTickMs = 1_000;

export class WallClock {
  nowMs = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | null = null;

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      this.nowMs = Date.now();
    }, clockTickMs);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
