/**
 * i18next set-up. The language follows the system locale unless the settings pin English
 * or French; changing the setting applies at once (react-i18next re-renders).
 */
import i18next from 'i18next'
import { initReactI18next } from 'react-i18next'
import en from './en.json'
import fr from './fr.json'
import { setSystemLocales } from '../format'

export type Language = 'en' | 'fr'
export type LocaleSetting = 'system' | 'en' | 'fr'

let systemLocale = 'en'

/** The language to show for a setting and a system locale ("fr-FR" → fr, anything else → en). */
export function pickLanguage(setting: LocaleSetting, system: string): Language {
  if (setting === 'en' || setting === 'fr') return setting
  return system.toLowerCase().startsWith('fr') ? 'fr' : 'en'
}

/** Reads the system locale and the saved setting, then starts i18next. */
export async function initI18n(): Promise<void> {
  let setting: LocaleSetting = 'system'
  systemLocale = navigator.language || 'en'
  let regionalLocale: string | undefined
  try {
    const [info, settings] = await Promise.all([window.vkey.appInfo(undefined), window.vkey.getSettings(undefined)])
    if (info.ok) ({ systemLocale, regionalLocale } = info.value)
    if (settings.ok) setting = settings.value.locale
  } catch {
    // No bridge answer: start in the browser's language; the screens will show the error.
  }
  // Dates follow the system's regional format, whichever language the screens are in.
  setSystemLocales([regionalLocale, systemLocale, ...navigator.languages])
  const lng = pickLanguage(setting, systemLocale)
  await i18next.use(initReactI18next).init({
    resources: { en: { translation: en }, fr: { translation: fr } },
    lng,
    fallbackLng: 'en',
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
  })
  document.documentElement.lang = lng
}

/** Applies a new language setting immediately. */
export async function applyLocaleSetting(setting: LocaleSetting): Promise<void> {
  const lng = pickLanguage(setting, systemLocale)
  await i18next.changeLanguage(lng)
  document.documentElement.lang = lng
}
