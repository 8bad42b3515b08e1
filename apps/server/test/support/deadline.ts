/**
 * `p`'s value, or `onTimeout()`'s when `p` has not settled within `ms`. The timer is cleared either
 * way: a pending timer keeps the test file's process alive (and its slot of the runner busy) until it
 * fires, long after the file's last test.
 */
export async function deadline<T, U>(p: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e as Error);
      }
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
