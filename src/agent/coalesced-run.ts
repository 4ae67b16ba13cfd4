/**
 * One pass at a time, with the triggers that arrive during a pass folded into one more pass after
 * it: a level-triggered pass reads the newest state when it begins, so any number of triggers
 * during one pass needs exactly one more. The converge loop and the prepared replicas run this way.
 */
export class CoalescedRun {
  readonly #pass: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  readonly #stopped: () => boolean;
  #passing = false;
  #again = false;

  constructor(pass: () => Promise<void>, onError: (error: unknown) => void, stopped: () => boolean) {
    this.#pass = pass;
    this.#onError = onError;
    this.#stopped = stopped;
  }

  /** Whether a trigger arrived during the pass now running (another pass follows it). */
  get pending(): boolean {
    return this.#again;
  }

  trigger(): void {
    if (this.#stopped()) return;
    if (this.#passing) {
      this.#again = true;
      return;
    }
    this.#passing = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped());
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#passing = false;
    }
  }
}
