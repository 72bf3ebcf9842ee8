/** Messages between the page and the decoder worker. */
export type DecodeRequest =
  { id: number; kind: 'frame'; pixels: ArrayBuffer; width: number; height: number } | { id: number; kind: 'picture'; bytes: ArrayBuffer }

export interface DecodeReply {
  id: number
  texts: string[]
  /** The decoder failed (not "no code found", which is texts: []). */
  error?: string
}
