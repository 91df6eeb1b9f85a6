/**
 * A long bench's progress on stderr (its figures go to stdout): each stage as it starts, numbered
 * out of the total, with the seconds since the bench began, so that a run of minutes shows where
 * it is and how far it has come.
 */
export type Progress = (stage: string) => void;

/** Stages are announced as `<bench> [k/total] <stage> (at N s)`. */
export function benchProgress(bench: string, total: number): Progress {
  const began = performance.now();
  let done = 0;
  return (stage) => {
    done++;
    const seconds = ((performance.now() - began) / 1000).toFixed(0);
    process.stderr.write(`${bench} [${done}/${total}] ${stage} (at ${seconds} s)\n`);
  };
}

/** For a bench run inside a test: stages pass silently. */
export const quiet: Progress = () => {};
