/** Bilingual labels that come from the server (dataset and field names), picked by language. */
import type { Lang } from '../lib/format.ts';
import type { DatasetField, DatasetView, UserView } from '../lib/types.ts';

export const fieldLabel = (f: Pick<DatasetField, 'labelJa' | 'labelEn'>, lang: Lang) => (lang === 'en' ? f.labelEn : f.labelJa);
export const datasetLabel = (d: Pick<DatasetView, 'labelJa' | 'labelEn'>, lang: Lang) => (lang === 'en' ? d.labelEn : d.labelJa);
export const userLabel = (u: Pick<UserView, 'displayName' | 'login'>) => `${u.displayName} (${u.login})`;
