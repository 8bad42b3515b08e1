/**
 * Japanese first, English second. The choice of language is the only thing the console keeps in
 * browser storage (never personal data, tokens or search terms).
 */
import i18next from 'i18next';
import { initReactI18next, useTranslation } from 'react-i18next';
import ja from './ja.json';
import en from './en.json';
import type { Lang } from '../lib/format.ts';

export const LANGUAGES: readonly Lang[] = ['ja', 'en'];
const STORAGE_KEY = 'mamori.lang';

function storedLanguage(): Lang {
  try {
    const v = window.localStorage.getItem(STORAGE_KEY);
    return v === 'en' || v === 'ja' ? v : 'ja';
  } catch {
    return 'ja';
  }
}

export async function initI18n(): Promise<void> {
  const lng = storedLanguage();
  document.documentElement.lang = lng;
  await i18next.use(initReactI18next).init({
    resources: { ja: { translation: ja }, en: { translation: en } },
    lng,
    fallbackLng: 'ja',
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
  });
}

export function setLanguage(lang: Lang): void {
  void i18next.changeLanguage(lang);
  document.documentElement.lang = lang;
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Storage may be off (private mode): the choice then lasts for this page only.
  }
}

export function currentLanguage(): Lang {
  return i18next.language === 'en' ? 'en' : 'ja';
}

/** The current language as a `Lang`, re-rendering on change. */
export function useLang(): Lang {
  const { i18n } = useTranslation();
  return i18n.language === 'en' ? 'en' : 'ja';
}
