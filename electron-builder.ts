// electron-builder finds this file by name; the configuration and its fuses live in
// scripts/electron-builder-config.ts (type-checked and unit-tested there).
export { default } from './scripts/electron-builder-config'
