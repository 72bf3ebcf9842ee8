// The decoder's WebAssembly as base64 (a virtual module made by electron.config.ts). Types only.
declare module 'virtual:zxing-reader-wasm' {
  const base64: string
  export default base64
}
