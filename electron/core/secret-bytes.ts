/** Secret bytes (a certificate's key, a password) are zeroed once used, on every path: the app and `vkey` share this. */
/**
 * Runs `use` with a `hold` that marks buffers holding secrets (a certificate's key, a
 * password read from standard input); they are zeroed when `use` ends, whether it returns
 * or throws.
 */
export async function wipeAfter<T>(use: (hold: (bytes: Buffer) => Buffer) => Promise<T>): Promise<T> {
  const held: Buffer[] = []
  try {
    return await use((bytes) => {
      held.push(bytes)
      return bytes
    })
  } finally {
    for (const bytes of held) bytes.fill(0)
  }
}
