/**
 * What one QR code holds. Its own module (no schema library): the QR file worker thread
 * (electron/core/qr-file-writer.ts) draws codes and loads nothing it does not need.
 */

/** Bytes one QR code (version 40) holds in byte mode at error-correction level M. */
export const QR_BYTE_CAPACITY_M = 2331
