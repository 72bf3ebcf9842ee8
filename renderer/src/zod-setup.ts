/**
 * Imported first by main.tsx. The page's CSP forbids eval, and zod probes for it with
 * `new Function` when an object schema is built (the CSP reports even a caught probe as a
 * violation): jitless mode skips the probe. It must run before any schema module loads.
 */
import { config } from 'zod'

config({ jitless: true })
