// console.warn captured for one test: what the code under test printed, line by line.

/** Runs `fn` with console.warn writing into `logged` instead of the terminal; restores it after. */
export async function withWarnings<T>(fn: (logged: string[]) => Promise<T> | T): Promise<T> {
  const warn = console.warn;
  const logged: string[] = [];
  console.warn = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  };
  try {
    return await fn(logged);
  } finally {
    console.warn = warn;
  }
}
