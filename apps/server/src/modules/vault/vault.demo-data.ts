/**
 * Synthetic Japanese business contacts for demos, benchmarks and import tests. Nothing here is a
 * real person: names, companies, numbers and addresses are recombined from small tables, so the
 * data looks like the production database (shape, variety, formats, skew) without being any of it.
 *
 * Determinism matters more than realism: benchmarks compare runs and tests compare outputs, so a
 * seed fully determines the output (a local PRNG, never Math.random, and no dependence on time).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { corporateNumberCheckDigit } from './vault.corporate-number.ts';

export type DemoContact = {
  corporate_number: string;
  company_name: string;
  company_name_kana: string;
  prefecture: string;
  company_address: string;
  office_postal_code: string;
  department: string;
  title: string;
  person_name: string;
  person_name_kana: string;
  email: string;
  direct_phone: string;
  mobile_phone: string;
};

export type DemoFieldSpec = {
  name: keyof DemoContact;
  labelJa: string;
  labelEn: string;
  classification: 'public' | 'internal' | 'personal' | 'confidential' | 'special_care';
  search: 'none' | 'prefix' | 'exact';
  kind: 'text' | 'name' | 'kana' | 'phone' | 'email' | 'postal_code' | 'address' | 'number';
};

/**
 * The dataset schema, in column order. Company facts are public (they are in the NTA corporate
 * number database anyway); the office postal code and the person's place in the organisation are
 * internal; everything that identifies or reaches a person is personal, and the mobile number —
 * often a private phone — is confidential.
 */
export const DEMO_CONTACT_FIELDS: readonly DemoFieldSpec[] = [
  { name: 'corporate_number', labelJa: '法人番号', labelEn: 'Corporate number', classification: 'public', search: 'exact', kind: 'number' },
  { name: 'company_name', labelJa: '会社名', labelEn: 'Company name', classification: 'public', search: 'prefix', kind: 'text' },
  { name: 'company_name_kana', labelJa: '会社名カナ', labelEn: 'Company name (kana)', classification: 'public', search: 'prefix', kind: 'kana' },
  { name: 'prefecture', labelJa: '都道府県', labelEn: 'Prefecture', classification: 'public', search: 'exact', kind: 'text' },
  { name: 'company_address', labelJa: '所在地', labelEn: 'Company address', classification: 'public', search: 'none', kind: 'address' },
  { name: 'office_postal_code', labelJa: '郵便番号', labelEn: 'Office postal code', classification: 'internal', search: 'none', kind: 'postal_code' },
  { name: 'department', labelJa: '部署', labelEn: 'Department', classification: 'internal', search: 'none', kind: 'text' },
  { name: 'title', labelJa: '役職', labelEn: 'Title', classification: 'internal', search: 'none', kind: 'text' },
  { name: 'person_name', labelJa: '氏名', labelEn: 'Name', classification: 'personal', search: 'exact', kind: 'name' },
  { name: 'person_name_kana', labelJa: '氏名カナ', labelEn: 'Name (kana)', classification: 'personal', search: 'exact', kind: 'kana' },
  { name: 'email', labelJa: 'メールアドレス', labelEn: 'Email', classification: 'personal', search: 'exact', kind: 'email' },
  { name: 'direct_phone', labelJa: '直通電話', labelEn: 'Direct phone', classification: 'personal', search: 'exact', kind: 'phone' },
  { name: 'mobile_phone', labelJa: '携帯電話', labelEn: 'Mobile phone', classification: 'confidential', search: 'exact', kind: 'phone' },
];

// ---------------------------------------------------------------------------------------------
// Randomness

type Rand = () => number;

/** mulberry32: tiny, fast, and good enough for test data; returns [0, 1). */
function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(rand: Rand, n: number): number {
  return Math.floor(rand() * n);
}

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[int(rand, items.length)] as T;
}

/**
 * Picks towards the front of a list ordered by frequency: real surname and stem frequencies are
 * steeply skewed, and a flat pick would make 佐藤 as rare as 服部.
 */
function pickSkewed<T>(rand: Rand, items: readonly T[], power: number): T {
  return items[Math.floor(items.length * rand() ** power)] as T;
}

class Weighted<T> {
  private readonly items: T[] = [];
  private readonly cumulative: number[] = [];
  private total = 0;
  constructor(entries: Iterable<readonly [T, number]>) {
    for (const [item, weight] of entries) {
      this.total += weight;
      this.items.push(item);
      this.cumulative.push(this.total);
    }
  }
  pick(rand: Rand): T {
    const x = rand() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Four zero-padded digits; the hot path of phone numbers, cheaper than padStart. */
function digits4(rand: Rand): string {
  return String(10_000 + int(rand, 10_000)).slice(1);
}

// ---------------------------------------------------------------------------------------------
// People. Tables are "漢字:カナ:romaji" lists, ordered roughly by real frequency.

type Reading = { kanji: string; kana: string; romaji: string };

function readings(table: string): Reading[] {
  return table
    .trim()
    .split(/\s+/)
    .map((entry) => {
      const [kanji = '', kana = '', romaji = ''] = entry.split(':');
      return { kanji, kana, romaji };
    });
}

const SURNAMES = readings(`
佐藤:サトウ:sato 鈴木:スズキ:suzuki 高橋:タカハシ:takahashi 田中:タナカ:tanaka 伊藤:イトウ:ito
渡辺:ワタナベ:watanabe 山本:ヤマモト:yamamoto 中村:ナカムラ:nakamura 小林:コバヤシ:kobayashi
加藤:カトウ:kato 吉田:ヨシダ:yoshida 山田:ヤマダ:yamada 佐々木:ササキ:sasaki 山口:ヤマグチ:yamaguchi
松本:マツモト:matsumoto 井上:イノウエ:inoue 木村:キムラ:kimura 林:ハヤシ:hayashi 斎藤:サイトウ:saito
清水:シミズ:shimizu 山崎:ヤマザキ:yamazaki 森:モリ:mori 池田:イケダ:ikeda 橋本:ハシモト:hashimoto
阿部:アベ:abe 石川:イシカワ:ishikawa 山下:ヤマシタ:yamashita 中島:ナカジマ:nakajima 石井:イシイ:ishii
小川:オガワ:ogawa 前田:マエダ:maeda 岡田:オカダ:okada 長谷川:ハセガワ:hasegawa 藤田:フジタ:fujita
後藤:ゴトウ:goto 近藤:コンドウ:kondo 村上:ムラカミ:murakami 遠藤:エンドウ:endo 青木:アオキ:aoki
坂本:サカモト:sakamoto 斉藤:サイトウ:saito 福田:フクダ:fukuda 太田:オオタ:ota 西村:ニシムラ:nishimura
藤井:フジイ:fujii 金子:カネコ:kaneko 岡本:オカモト:okamoto 藤原:フジワラ:fujiwara 中野:ナカノ:nakano
三浦:ミウラ:miura 原田:ハラダ:harada 中川:ナカガワ:nakagawa 松田:マツダ:matsuda 竹内:タケウチ:takeuchi
小野:オノ:ono 田村:タムラ:tamura 中山:ナカヤマ:nakayama 和田:ワダ:wada 石田:イシダ:ishida
森田:モリタ:morita 上田:ウエダ:ueda 原:ハラ:hara 内田:ウチダ:uchida 柴田:シバタ:shibata
酒井:サカイ:sakai 宮崎:ミヤザキ:miyazaki 横山:ヨコヤマ:yokoyama 高木:タカギ:takagi 安藤:アンドウ:ando
宮本:ミヤモト:miyamoto 大野:オオノ:ono 小島:コジマ:kojima 谷口:タニグチ:taniguchi 今井:イマイ:imai
工藤:クドウ:kudo 高田:タカダ:takada 増田:マスダ:masuda 丸山:マルヤマ:maruyama 杉山:スギヤマ:sugiyama
村田:ムラタ:murata 大塚:オオツカ:otsuka 新井:アライ:arai 小山:コヤマ:koyama 平野:ヒラノ:hirano
藤本:フジモト:fujimoto 河野:コウノ:kono 上野:ウエノ:ueno 野口:ノグチ:noguchi 武田:タケダ:takeda
松井:マツイ:matsui 千葉:チバ:chiba 岩崎:イワサキ:iwasaki 菅原:スガワラ:sugawara 木下:キノシタ:kinoshita
久保:クボ:kubo 佐野:サノ:sano 野村:ノムラ:nomura 松尾:マツオ:matsuo 市川:イチカワ:ichikawa
菊地:キクチ:kikuchi 杉本:スギモト:sugimoto 古川:フルカワ:furukawa 大西:オオニシ:onishi 島田:シマダ:shimada
水野:ミズノ:mizuno 桜井:サクライ:sakurai 高野:タカノ:takano 渡部:ワタナベ:watanabe 吉川:ヨシカワ:yoshikawa
山内:ヤマウチ:yamauchi 西田:ニシダ:nishida 飯田:イイダ:iida 菅野:カンノ:kanno 北村:キタムラ:kitamura
服部:ハットリ:hattori 岩田:イワタ:iwata 荒木:アラキ:araki 東:アズマ:azuma 小松:コマツ:komatsu
`);

const MALE_GIVEN = readings(`
太郎:タロウ:taro 一郎:イチロウ:ichiro 健太:ケンタ:kenta 翔太:ショウタ:shota 大輔:ダイスケ:daisuke
拓也:タクヤ:takuya 直樹:ナオキ:naoki 浩:ヒロシ:hiroshi 誠:マコト:makoto 健一:ケンイチ:kenichi
和也:カズヤ:kazuya 達也:タツヤ:tatsuya 隆:タカシ:takashi 修:オサム:osamu 剛:ツヨシ:tsuyoshi
亮:リョウ:ryo 大樹:ダイキ:daiki 悠斗:ユウト:yuto 蓮:レン:ren 颯太:ソウタ:sota
陽翔:ハルト:haruto 雄一:ユウイチ:yuichi 秀樹:ヒデキ:hideki 正人:マサト:masato 康介:コウスケ:kosuke
智也:トモヤ:tomoya 裕太:ユウタ:yuta 俊介:シュンスケ:shunsuke 光:ヒカル:hikaru 学:マナブ:manabu
実:ミノル:minoru 豊:ユタカ:yutaka 聡:サトシ:satoshi 洋平:ヨウヘイ:yohei 慎吾:シンゴ:shingo
`);

const FEMALE_GIVEN = readings(`
花子:ハナコ:hanako 陽子:ヨウコ:yoko 恵子:ケイコ:keiko 裕子:ユウコ:yuko 美穂:ミホ:miho
直美:ナオミ:naomi 由美:ユミ:yumi 真由美:マユミ:mayumi 智子:トモコ:tomoko 久美子:クミコ:kumiko
明美:アケミ:akemi 香織:カオリ:kaori 愛:アイ:ai 彩:アヤ:aya 美咲:ミサキ:misaki
陽菜:ヒナ:hina 結衣:ユイ:yui さくら:サクラ:sakura 葵:アオイ:aoi 七海:ナナミ:nanami
麻衣:マイ:mai 優子:ユウコ:yuko 恵美:エミ:emi 千尋:チヒロ:chihiro 舞:マイ:mai
沙織:サオリ:saori 理恵:リエ:rie 奈々:ナナ:nana 真理子:マリコ:mariko 綾香:アヤカ:ayaka
由紀:ユキ:yuki 純子:ジュンコ:junko
`);

const GIVEN = [...MALE_GIVEN, ...FEMALE_GIVEN];

/**
 * Everything derived from a (surname, given name) pair, built once: the display strings and the
 * email local parts. Local parts are interned to small integers because the per-company
 * uniqueness check runs 100,000 times and integer keys hash far faster than fresh strings.
 * Interning also makes homophones share a slot (斎藤/斉藤 → saito), so they still get suffixes.
 */
const EMAIL_STYLES = 3; // taro.yamada, t.yamada, yamada.taro
const PAIRS = SURNAMES.length * GIVEN.length;
const PERSON_NAMES: string[] = [];
const PERSON_KANAS: string[] = [];
const LOCAL_PART_IDS = new Int32Array(EMAIL_STYLES * PAIRS);
const LOCAL_PARTS: string[] = [];
{
  const ids = new Map<string, number>();
  const intern = (local: string): number => {
    let id = ids.get(local);
    if (id === undefined) {
      id = LOCAL_PARTS.push(local) - 1;
      ids.set(local, id);
    }
    return id;
  };
  SURNAMES.forEach((family, f) => {
    GIVEN.forEach((given, g) => {
      const pair = f * GIVEN.length + g;
      PERSON_NAMES[pair] = `${family.kanji} ${given.kanji}`;
      PERSON_KANAS[pair] = `${family.kana} ${given.kana}`;
      LOCAL_PART_IDS[pair] = intern(`${given.romaji}.${family.romaji}`);
      LOCAL_PART_IDS[PAIRS + pair] = intern(`${given.romaji.charAt(0)}.${family.romaji}`);
      LOCAL_PART_IDS[2 * PAIRS + pair] = intern(`${family.romaji}.${given.romaji}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Companies

const KANJI_STEMS = readings(`
東和:トウワ:towa 大和:ヤマト:yamato 日本:ニホン:nihon 新光:シンコウ:shinko 三栄:サンエイ:sanei
丸和:マルワ:maruwa 富士:フジ:fuji 北斗:ホクト:hokuto 旭:アサヒ:asahi 平和:ヘイワ:heiwa
昭和:ショウワ:showa 太平洋:タイヘイヨウ:taiheiyo 中央:チュウオウ:chuo 東洋:トウヨウ:toyo 協和:キョウワ:kyowa
共栄:キョウエイ:kyoei 大同:ダイドウ:daido 光:ヒカリ:hikari 桜:サクラ:sakura 青葉:アオバ:aoba
若葉:ワカバ:wakaba 朝日:アサヒ:asahi 日進:ニッシン:nisshin 明治:メイジ:meiji 大成:タイセイ:taisei
信和:シンワ:shinwa 双葉:フタバ:futaba 千代田:チヨダ:chiyoda 山陽:サンヨウ:sanyo 東邦:トウホウ:toho
関東:カントウ:kanto 関西:カンサイ:kansai 九州:キュウシュウ:kyushu 北陽:ホクヨウ:hokuyo 新日本:シンニホン:shinnihon
第一:ダイイチ:daiichi 三和:サンワ:sanwa 日興:ニッコウ:nikko 東亜:トウア:toa 大栄:ダイエイ:daiei
丸高:マルタカ:marutaka 菱和:リョウワ:ryowa 山一:ヤマイチ:yamaichi 金剛:コンゴウ:kongo 泰平:タイヘイ:taihei
白鳥:シラトリ:shiratori 瑞穂:ミズホ:mizuho 弥生:ヤヨイ:yayoi 緑:ミドリ:midori 青山:アオヤマ:aoyama
清和:セイワ:seiwa 栄光:エイコウ:eiko 永和:エイワ:eiwa 大洋:タイヨウ:taiyo 日栄:ニチエイ:nichiei
恒和:コウワ:kowa 飛鳥:アスカ:asuka 常盤:トキワ:tokiwa 松風:マツカゼ:matsukaze 北辰:ホクシン:hokushin
西日本:ニシニホン:nishinihon 東日本:ヒガシニホン:higashinihon 中部:チュウブ:chubu 北陸:ホクリク:hokuriku
四国:シコク:shikoku 東北:トウホク:tohoku 近畿:キンキ:kinki 日新:ニッシン:nisshin 富士見:フジミ:fujimi
`);

// Katakana stems are written in katakana, so the "kanji" column is the kana itself.
const KATAKANA_STEMS = readings(`
ミライ:ミライ:mirai アクア:アクア:aqua グリーン:グリーン:green ネクスト:ネクスト:next
ブルースカイ:ブルースカイ:bluesky サンライズ:サンライズ:sunrise フロンティア:フロンティア:frontier
パシフィック:パシフィック:pacific スマイル:スマイル:smile ハーモニー:ハーモニー:harmony
クレスト:クレスト:crest エコ:エコ:eco ユニバーサル:ユニバーサル:universal ライフ:ライフ:life
アルファ:アルファ:alpha ステラ:ステラ:stella テクノ:テクノ:techno オーシャン:オーシャン:ocean
リンク:リンク:link ビジョン:ビジョン:vision スカイ:スカイ:sky ノース:ノース:north
フォレスト:フォレスト:forest コスモ:コスモ:cosmo アーク:アーク:arc エール:エール:yell
ルミナ:ルミナ:lumina ソレイユ:ソレイユ:soleil プライム:プライム:prime ゼニス:ゼニス:zenith
`);

const KANJI_INDUSTRIES = readings(`
商事:ショウジ:shoji 物産:ブッサン:bussan 製作所:セイサクショ:seisakusho 工業:コウギョウ:kogyo
建設:ケンセツ:kensetsu 電機:デンキ:denki 精機:セイキ:seiki 化学:カガク:kagaku 運輸:ウンユ:unyu
物流:ブツリュウ:butsuryu 不動産:フドウサン:fudosan 食品:ショクヒン:shokuhin 製薬:セイヤク:seiyaku
印刷:インサツ:insatsu 設計:セッケイ:sekkei 興業:コウギョウ:kogyo 産業:サンギョウ:sangyo
技研:ギケン:giken 電子:デンシ:denshi 企画:キカク:kikaku 通商:ツウショウ:tsusho 観光:カンコウ:kanko
開発:カイハツ:kaihatsu 鉄工:テッコウ:tekko 硝子:ガラス:glass 繊維:センイ:seni 住宅:ジュウタク:jutaku
薬品:ヤクヒン:yakuhin 水産:スイサン:suisan 商会:ショウカイ:shokai 製菓:セイカ:seika 酒造:シュゾウ:shuzo
電設:デンセツ:densetsu 工務店:コウムテン:komuten 運送:ウンソウ:unso 精工:セイコウ:seiko
紙業:シギョウ:shigyo 機械:キカイ:kikai 電工:デンコウ:denko 倉庫:ソウコ:soko 情報システム:ジョウホウシステム:is
`);

const KATAKANA_INDUSTRIES = readings(`
システム:システム:system ソリューションズ:ソリューションズ:solutions テクノロジー:テクノロジー:technology
ホールディングス:ホールディングス:hd コンサルティング:コンサルティング:consulting
エンジニアリング:エンジニアリング:engineering ネットワークス:ネットワークス:networks デザイン:デザイン:design
テック:テック:tech ラボ:ラボ:lab パートナーズ:パートナーズ:partners サービス:サービス:service
トレーディング:トレーディング:trading メディカル:メディカル:medical フーズ:フーズ:foods
マネジメント:マネジメント:management ロジスティクス:ロジスティクス:logistics
インターナショナル:インターナショナル:international クリエイト:クリエイト:create ワークス:ワークス:works
`);

type EntityType = { name: string; kana: string; registryKind: string; prefixShare: number };

/**
 * 株式会社 dominates; 有限会社 are the pre-2006 "special" limited companies; 合同会社 (LLC) is the
 * fast-growing newcomer and is usually written in front. Kana use the voiced ガイシャ as spoken.
 * registryKind stands in for the company-type digits of the 会社法人等番号.
 */
const ENTITY_TYPES = new Weighted<EntityType>([
  [{ name: '株式会社', kana: 'カブシキガイシャ', registryKind: '01', prefixShare: 0.45 }, 82],
  [{ name: '有限会社', kana: 'ユウゲンガイシャ', registryKind: '02', prefixShare: 0.5 }, 10],
  [{ name: '合同会社', kana: 'ゴウドウガイシャ', registryKind: '03', prefixShare: 0.85 }, 8],
]);

// ---------------------------------------------------------------------------------------------
// Geography. "P name romaji weight" starts a prefecture (weight ≈ share of companies, in ‰);
// each following line is "city[*weight] areaCode town:postal …". Area codes are the real ones of
// the city; towns and postal codes are real or plausible for that city.

const GEO = `
P 北海道 hokkaido 38
  札幌市中央区*4 011 北一条西:060-0001 大通西:060-0042 南一条西:060-0061 北五条西:060-0005
  札幌市北区*2 011 北七条西:060-0807 北二十四条西:001-0024
  旭川市 0166 宮下通:070-0030 四条通:070-0034
  函館市 0138 若松町:040-0063 本町:040-0011
P 青森県 aomori 8
  青森市*2 017 新町:030-0801 長島:030-0861 安方:030-0803
  八戸市 0178 番町:031-0032 十三日町:031-0042
  弘前市 0172 土手町:036-8182 駅前:036-8003
P 岩手県 iwate 7
  盛岡市*2 019 大通:020-0022 中央通:020-0021 盛岡駅前通:020-0034
  一関市 0191 大手町:021-0877 駅前:021-0884
  北上市 0197 青柳町:024-0092 本石町:024-0032
P 宮城県 miyagi 16
  仙台市青葉区*4 022 一番町:980-0811 中央:980-0021 本町:980-0014 国分町:980-0803
  仙台市宮城野区*2 022 榴岡:983-0852 鉄砲町:983-0864
  石巻市 0225 穀町:986-0824 中央:986-0822
P 秋田県 akita 6
  秋田市*2 018 中通:010-0001 大町:010-0921 山王:010-0951
  横手市 0182 駅前町:013-0036 安田:013-0064
  大館市 0186 御成町:017-0044 大町:017-0841
P 山形県 yamagata 8
  山形市*2 023 香澄町:990-0039 七日町:990-0042 本町:990-0043
  米沢市 0238 中央:992-0045 金池:992-0012
  鶴岡市 0235 本町:997-0034 末広町:997-0031
P 福島県 fukushima 13
  福島市*2 024 栄町:960-8031 大町:960-8041 置賜町:960-8043
  郡山市*2 024 駅前:963-8002 中町:963-8004
  いわき市 0246 平:970-8026 小名浜:971-8101
P 茨城県 ibaraki 19
  水戸市*2 029 南町:310-0021 宮町:310-0015 泉町:310-0026
  つくば市*2 029 竹園:305-0032 吾妻:305-0031 研究学園:305-0817
  日立市 0294 幸町:317-0073 弁天町:317-0071
P 栃木県 tochigi 13
  宇都宮市*3 028 馬場通り:320-0026 本町:320-0033 駅前通り:321-0964
  小山市 0285 城山町:323-0025 駅東通り:323-0022
  足利市 0284 通:326-0814 伊勢町:326-0053
P 群馬県 gunma 14
  前橋市*2 027 本町:371-0023 大手町:371-0026 表町:371-0024
  高崎市*2 027 八島町:370-0849 栄町:370-0841 連雀町:370-0815
  太田市 0276 浜町:373-0853 飯田町:373-0851
P 埼玉県 saitama 45
  さいたま市大宮区*4 048 桜木町:330-0854 大門町:330-0846 宮町:330-0802
  さいたま市浦和区*3 048 高砂:330-0063 仲町:330-0062
  川越市*2 049 脇田町:350-1123 新富町:350-0043
  川口市*2 048 本町:332-0012 栄町:332-0017
  所沢市 04 日吉町:359-1123 東町:359-1124
P 千葉県 chiba 35
  千葉市中央区*3 043 富士見:260-0015 新町:260-0028 中央:260-0013
  千葉市美浜区*2 043 中瀬:261-0023 幕張西:261-0026
  船橋市*2 047 本町:273-0005 湊町:273-0011
  柏市*2 04 柏:277-0005 末広町:277-0842
  松戸市 047 松戸:271-0092 根本:271-0077
P 東京都 tokyo 190
  千代田区*10 03 丸の内:100-0005 大手町:100-0004 神田小川町:101-0052 麹町:102-0083 内幸町:100-0011
  中央区*9 03 日本橋:103-0027 銀座:104-0061 八重洲:103-0028 京橋:104-0031 新川:104-0033
  港区*10 03 芝浦:108-0023 六本木:106-0032 赤坂:107-0052 虎ノ門:105-0001 新橋:105-0004 浜松町:105-0013
  新宿区*6 03 西新宿:160-0023 新宿:160-0022 四谷:160-0004 高田馬場:169-0075
  渋谷区*6 03 渋谷:150-0002 恵比寿:150-0013 道玄坂:150-0043 代々木:151-0053
  品川区*4 03 大崎:141-0032 東五反田:141-0022 北品川:140-0001
  江東区*3 03 豊洲:135-0061 有明:135-0063 亀戸:136-0071
  台東区*3 03 上野:110-0005 浅草橋:111-0053
  豊島区*3 03 東池袋:170-0013 南池袋:171-0022
  文京区*2 03 本郷:113-0033 後楽:112-0004
  八王子市*2 042 旭町:192-0083 明神町:192-0046
  立川市*2 042 曙町:190-0012 柴崎町:190-0023
  町田市 042 原町田:194-0013 森野:194-0022
  武蔵野市 0422 吉祥寺本町:180-0004 中町:180-0006
P 神奈川県 kanagawa 65
  横浜市西区*4 045 みなとみらい:220-0012 高島:220-0011 北幸:220-0004
  横浜市中区*3 045 山下町:231-0023 本町:231-0005 日本大通:231-0021
  横浜市港北区*3 045 新横浜:222-0033 綱島西:223-0053
  川崎市川崎区*2 044 駅前本町:210-0007 砂子:210-0006
  川崎市中原区*2 044 小杉町:211-0063 新丸子東:211-0004
  相模原市中央区 042 相模原:252-0231 中央:252-0239
  藤沢市 0466 藤沢:251-0052 辻堂神台:251-0041
  厚木市 046 中町:243-0018 旭町:243-0014
P 新潟県 niigata 17
  新潟市中央区*3 025 万代:950-0088 東大通:950-0087 古町通:951-8063
  長岡市 0258 大手通:940-0062 城内町:940-0061
  上越市 025 本町:943-0832 春日山町:943-0807
P 富山県 toyama 8
  富山市*2 076 桜町:930-0003 新富町:930-0002 総曲輪:930-0083
  高岡市 0766 末広町:933-0023 御旅屋町:933-0029
P 石川県 ishikawa 9
  金沢市*3 076 広岡:920-0031 香林坊:920-0961 本町:920-0853 片町:920-0981
  小松市 0761 土居原町:923-0801 園町:923-0918
P 福井県 fukui 6
  福井市*2 0776 大手:910-0005 中央:910-0006 順化:910-0023
  敦賀市 0770 白銀町:914-0811 本町:914-0063
P 山梨県 yamanashi 7
  甲府市*2 055 丸の内:400-0031 中央:400-0032 相生:400-0858
  富士吉田市 0555 上吉田:403-0005 下吉田:403-0004
P 長野県 nagano 16
  長野市*2 026 南長野:380-0836 鶴賀:380-0813 中御所:380-0935
  松本市*2 0263 中央:390-0811 深志:390-0815
  上田市 0268 天神:386-0025 中央:386-0012
P 岐阜県 gifu 14
  岐阜市*2 058 橋本町:500-8856 神田町:500-8833 吉野町:500-8175
  大垣市 0584 郭町:503-0887 高屋町:503-0901
  多治見市 0572 本町:507-0033 新町:507-0038
P 静岡県 shizuoka 27
  静岡市葵区*3 054 紺屋町:420-0852 呉服町:420-0031 追手町:420-0853
  浜松市中央区*3 053 板屋町:430-0928 旭町:430-0927 鍛冶町:430-0933
  沼津市 055 大手町:410-0801 高島町:410-0055
  富士市 0545 本町:416-0906 吉原:417-0051
P 愛知県 aichi 55
  名古屋市中区*6 052 栄:460-0008 錦:460-0003 丸の内:460-0002 大須:460-0011
  名古屋市中村区*5 052 名駅:450-0002 名駅南:450-0003 椿町:453-0015
  名古屋市東区*2 052 泉:461-0001 東桜:461-0005
  豊田市*2 0565 西町:471-0025 若宮町:471-0026
  岡崎市 0564 康生町:444-0052 羽根町:444-0813
  一宮市 0586 本町:491-0853 栄:491-0858
  豊橋市 0532 駅前大通:440-0888 花田町:440-0075
P 三重県 mie 11
  津市*2 059 羽所町:514-0009 丸之内:514-0033 栄町:514-0004
  四日市市*2 059 諏訪町:510-0085 安島:510-0075 西新地:510-0087
  鈴鹿市 059 神戸:513-0801 算所:513-0806
P 滋賀県 shiga 7
  大津市*2 077 におの浜:520-0801 京町:520-0044 梅林:520-0051
  草津市 077 西大路町:525-0037 大路:525-0032
  彦根市 0749 旭町:522-0075 中央町:522-0063
P 京都府 kyoto 19
  京都市中京区*3 075 烏丸通:604-8166 河原町通:604-8005
  京都市下京区*3 075 東塩小路町:600-8216 四条通:600-8008
  宇治市 0774 宇治:611-0021 小倉町:611-0042
P 大阪府 osaka 85
  大阪市北区*8 06 梅田:530-0001 中之島:530-0005 天神橋:530-0041 堂島:530-0003
  大阪市中央区*8 06 本町:541-0053 北浜:541-0041 今橋:541-0042 難波:542-0076 谷町:540-0012
  大阪市西区*4 06 靱本町:550-0004 江戸堀:550-0002 西本町:550-0005
  大阪市淀川区*3 06 西中島:532-0011 宮原:532-0003
  堺市堺区*2 072 南瓦町:590-0078 熊野町東:590-0948
  東大阪市*2 06 荒本北:577-0011 長田東:577-0012
  吹田市*2 06 江坂町:564-0063 豊津町:564-0051
  豊中市 06 新千里東町:560-0082 本町:560-0021
P 兵庫県 hyogo 37
  神戸市中央区*4 078 三宮町:650-0021 東川崎町:650-0044 港島中町:650-0046
  姫路市*2 079 駅前町:670-0927 南畝町:670-0912
  尼崎市*2 06 昭和通:660-0881 潮江:661-0976
  西宮市 0798 北口町:663-8035 池田町:662-0918
P 奈良県 nara 7
  奈良市*2 0742 三条大路:630-8135 大宮町:630-8115
  橿原市 0744 内膳町:634-0804 八木町:634-0078
P 和歌山県 wakayama 6
  和歌山市*2 073 美園町:640-8331 本町:640-8033 十番丁:640-8156
  田辺市 0739 湊:646-0031 新屋敷町:646-0035
P 鳥取県 tottori 3
  鳥取市 0857 栄町:680-0831 今町:680-0822
  米子市 0859 角盤町:683-0052 明治町:683-0043
P 島根県 shimane 4
  松江市*2 0852 朝日町:690-0003 殿町:690-0887
  出雲市 0853 今市町:693-0001 駅北町:693-0008
P 岡山県 okayama 13
  岡山市北区*3 086 駅前町:700-0023 本町:700-0901 柳町:700-0904
  倉敷市*2 086 阿知:710-0055 白楽町:710-0833
P 広島県 hiroshima 21
  広島市中区*4 082 紙屋町:730-0031 八丁堀:730-0013 大手町:730-0051 基町:730-0011
  広島市南区*2 082 松原町:732-0822 皆実町:734-0007
  福山市*2 084 三之丸町:720-0066 東桜町:720-0065
P 山口県 yamaguchi 8
  山口市 083 中央:753-0074 湯田温泉:753-0056
  下関市 083 竹崎町:750-0025 豊前田町:750-0018
  周南市 0834 御幸通:745-0035 銀南街:745-0033
P 徳島県 tokushima 5
  徳島市*2 088 寺島本町西:770-0831 一番町:770-0834
  阿南市 0884 富岡町:774-0030 見能林町:774-0011
P 香川県 kagawa 8
  高松市*3 087 サンポート:760-0019 丸の内:760-0033 兵庫町:760-0024
  丸亀市 0877 大手町:763-0034 通町:763-0024
P 愛媛県 ehime 9
  松山市*3 089 一番町:790-0001 三番町:790-0003 湊町:790-0012
  今治市 0898 常盤町:794-0015 北宝来町:794-0028
  新居浜市 0897 一宮町:792-0024 西の土居町:792-0025
P 高知県 kochi 5
  高知市*3 088 本町:780-0870 帯屋町:780-0841 はりまや町:780-0822
  南国市 088 大そね:783-0004 後免町:783-0005
P 福岡県 fukuoka 38
  福岡市博多区*5 092 博多駅前:812-0011 博多駅東:812-0013 中洲:810-0801
  福岡市中央区*4 092 天神:810-0001 大名:810-0041 赤坂:810-0042
  北九州市小倉北区*2 093 京町:802-0002 浅野:802-0001
  久留米市 0942 城南町:830-0022 東町:830-0032
P 佐賀県 saga 5
  佐賀市*2 0952 駅前中央:840-0801 白山:840-0826
  唐津市 0955 新興町:847-0017 南城内:847-0013
P 長崎県 nagasaki 8
  長崎市*2 095 大黒町:850-0057 万才町:850-0033 出島町:850-0862
  佐世保市 0956 島瀬町:857-0806 常盤町:857-0871
P 熊本県 kumamoto 11
  熊本市中央区*3 096 花畑町:860-0806 下通:860-0807 辛島町:860-0804
  八代市 0965 本町:866-0861 松江城町:866-0863
P 大分県 oita 8
  大分市*3 097 府内町:870-0021 中央町:870-0035 金池町:870-0026
  別府市 0977 北浜:874-0920 駅前町:874-0935
P 宮崎県 miyazaki 7
  宮崎市*3 0985 橘通東:880-0805 橘通西:880-0001
  都城市 0986 中町:885-0074 栄町:885-0071
  延岡市 0982 幸町:882-0053 中町:882-0823
P 鹿児島県 kagoshima 12
  鹿児島市*3 099 中央町:890-0053 山之口町:892-0844 東千石町:892-0842
  霧島市 0995 国分中央:899-4332 隼人町:899-5117
P 沖縄県 okinawa 12
  那覇市*3 098 久茂地:900-0015 おもろまち:900-0006 前島:900-0016
  浦添市 098 牧港:901-2131 城間:901-2132
  沖縄市 098 中央:904-0004 胡屋:904-0031
`;

type Town = { name: string; postal: string };
type City = { name: string; areaCode: string; towns: Town[] };
type Prefecture = { name: string; romaji: string; jisCode: number; cities: Weighted<City> };

function parseGeo(text: string): Weighted<Prefecture> {
  const prefectures: { name: string; romaji: string; weight: number; cities: [City, number][] }[] = [];
  for (const raw of text.split('\n')) {
    const parts = raw.trim().split(/\s+/);
    if (parts[0] === undefined || parts[0] === '') continue;
    if (parts[0] === 'P') {
      const [, name = '', romaji = '', weight = '1'] = parts;
      prefectures.push({ name, romaji, weight: Number(weight), cities: [] });
      continue;
    }
    const [cityField = '', areaCode = '', ...townFields] = parts;
    const [cityName = '', cityWeight = '1'] = cityField.split('*');
    const towns = townFields.map((t) => {
      const [name = '', postal = ''] = t.split(':');
      return { name, postal };
    });
    prefectures[prefectures.length - 1]?.cities.push([{ name: cityName, areaCode, towns }, Number(cityWeight)]);
  }
  // Listed in JIS X 0401 order, so the position is the prefecture code.
  return new Weighted(
    prefectures.map((p, i) => [{ name: p.name, romaji: p.romaji, jisCode: i + 1, cities: new Weighted(p.cities) }, p.weight] as const),
  );
}

const PREFECTURES = parseGeo(GEO);

const DEPARTMENTS = new Weighted<string>([
  ['営業部', 20], ['営業本部', 4], ['第一営業部', 3], ['海外営業部', 2], ['人事部', 6], ['総務部', 8],
  ['経理部', 6], ['財務部', 3], ['情報システム部', 5], ['経営企画部', 4], ['マーケティング部', 5],
  ['開発本部', 4], ['技術部', 5], ['製造部', 5], ['品質保証部', 3], ['購買部', 3], ['法務部', 2],
  ['広報部', 2], ['カスタマーサポート部', 3], ['事業開発部', 3], ['物流部', 2], ['研究開発部', 3],
]);

/**
 * Blank = staff without a title, the most common case. `withDepartment` is the share of holders
 * listed under a 部署: representatives never are, other officers often head a division.
 */
const TITLES = new Weighted<{ title: string; withDepartment: number }>([
  [{ title: '代表取締役', withDepartment: 0 }, 2],
  [{ title: '代表取締役社長', withDepartment: 0 }, 1.5],
  [{ title: '取締役', withDepartment: 0.4 }, 3],
  [{ title: '常務取締役', withDepartment: 0.3 }, 1],
  [{ title: '執行役員', withDepartment: 0.6 }, 2],
  [{ title: '部長', withDepartment: 1 }, 9],
  [{ title: '次長', withDepartment: 1 }, 4],
  [{ title: '課長', withDepartment: 1 }, 12],
  [{ title: '係長', withDepartment: 1 }, 7],
  [{ title: '主任', withDepartment: 1 }, 10],
  [{ title: 'マネージャー', withDepartment: 1 }, 4],
  [{ title: 'チームリーダー', withDepartment: 1 }, 3],
  [{ title: '', withDepartment: 1 }, 40],
]);

const MOBILE_PREFIXES = new Weighted<string>([['090', 50], ['080', 35], ['070', 15]]);
const KANJI_NUMERALS = ['一', '二', '三', '五'];

type Company = {
  corporateNumber: string;
  name: string;
  kana: string;
  prefecture: string;
  address: string;
  postal: string;
  areaCode: string;
  /** Offices have one exchange, so the company's direct lines share their middle digits. */
  exchange: string;
  domain: string;
  /** Interned email local parts handed out so far, with how many times each was used. */
  localParts: Map<number, number>;
};

/** Japanese fixed-line numbers have ten digits: area code + exchange + four subscriber digits. */
function exchangeDigits(rand: Rand, areaCode: string): string {
  const len = 6 - areaCode.length;
  let s = String(2 + int(rand, 8)); // exchanges never start with 0 or 1
  for (let i = 1; i < len; i++) s += String(int(rand, 10));
  return s;
}

function makeStreetAddress(rand: Rand, town: Town, stem: Reading): string {
  const chome = 1 + Math.floor(5 * rand() ** 1.5);
  const ban = 1 + int(rand, 25);
  const numbers = rand() < 0.8 ? `${chome}-${ban}-${1 + int(rand, 20)}` : `${chome}-${ban}`;
  if (rand() < 0.35) return numbers;
  const floor = 1 + Math.floor(20 * rand() ** 2);
  let building: string;
  const r = rand();
  if (r < 0.35) building = `${town.name}ビル`;
  else if (r < 0.55) building = `${pick(rand, KANJI_STEMS).kanji}ビル`;
  else if (r < 0.7) building = `第${pick(rand, KANJI_NUMERALS)}${stem.kanji}ビル`;
  else if (r < 0.85) building = `${town.name}センタービル`;
  else building = `${pick(rand, KATAKANA_STEMS).kanji}タワー`;
  return `${numbers} ${building}${floor}階`;
}

function makeCompanies(rand: Rand, count: number): Company[] {
  const companies: Company[] = [];
  const bases = new Set<string>();
  const domains = new Set<string>();
  for (let i = 0; i < count; i++) {
    const pref = PREFECTURES.pick(rand);
    const city = pref.cities.pick(rand);
    const town = pick(rand, city.towns);
    const type = ENTITY_TYPES.pick(rand);

    let stem: Reading;
    let industry: Reading;
    const r = rand();
    if (r < 0.4) {
      stem = pickSkewed(rand, KANJI_STEMS, 1.2);
      industry = rand() < 0.8 ? pick(rand, KANJI_INDUSTRIES) : pick(rand, KATAKANA_INDUSTRIES);
    } else if (r < 0.65) {
      // Family businesses carry the founder's surname: 山田製作所, 佐藤工務店.
      stem = pickSkewed(rand, SURNAMES, 1.3);
      industry = pick(rand, KANJI_INDUSTRIES);
    } else {
      stem = pick(rand, KATAKANA_STEMS);
      industry = rand() < 0.8 ? pick(rand, KATAKANA_INDUSTRIES) : pick(rand, KANJI_INDUSTRIES);
    }
    const prefix = rand() < type.prefixShare;
    const core = stem.kanji + industry.kanji;
    const coreKana = stem.kana + industry.kana;
    const name = prefix ? type.name + core : core + type.name;
    const kana = prefix ? type.kana + coreKana : coreKana + type.kana;

    let base: string;
    do {
      // 4-digit registry office (prefecture-based), 2-digit company type, 6-digit serial.
      base = pad(pref.jisCode, 2) + pad(int(rand, 10), 2) + type.registryKind + pad(int(rand, 1_000_000), 6);
    } while (bases.has(base));
    bases.add(base);

    // Same-named companies exist all over Japan; the later ones get a regional or numbered domain.
    const romaji = stem.romaji + (rand() < 0.3 ? '-' : '') + industry.romaji;
    const tld = rand() < 0.85 ? 'co.jp' : rand() < 0.5 ? 'jp' : 'com';
    let domain = `${romaji}.${tld}`;
    if (domains.has(domain)) domain = `${romaji}-${pref.romaji}.${tld}`;
    for (let n = 2; domains.has(domain); n++) domain = `${romaji}${n}.${tld}`;
    domains.add(domain);

    companies.push({
      corporateNumber: String(corporateNumberCheckDigit(base)) + base,
      name,
      kana,
      prefecture: pref.name,
      address: `${pref.name}${city.name}${town.name}${makeStreetAddress(rand, town, stem)}`,
      postal: town.postal,
      areaCode: city.areaCode,
      exchange: exchangeDigits(rand, city.areaCode),
      domain,
      localParts: new Map(),
    });
  }
  return companies;
}

/** Contacts per company in the production database: ~100,000 people over ~12,000 companies. */
const CONTACTS_PER_COMPANY = 8.3;

/**
 * Yields `count` contacts. The output depends only on (count, seed): the company pool is sized
 * from count, so the first N contacts of a larger run differ from a run of N.
 */
export function* generateDemoContacts(count: number, seed: number): Generator<DemoContact, void, undefined> {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
  if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number');
  if (count === 0) return;
  const rand = mulberry32(seed);
  const companies = makeCompanies(rand, Math.max(1, Math.round(count / CONTACTS_PER_COMPANY)));

  for (let i = 0; i < count; i++) {
    // Skewed pick: a few large companies with hundreds of contacts, a long tail of small ones.
    const company = companies[Math.floor(companies.length * rand() ** 1.5)] as Company;
    const family = Math.floor(SURNAMES.length * rand() ** 1.3); // skewed like pickSkewed
    const given = rand() < 0.62 ? int(rand, MALE_GIVEN.length) : MALE_GIVEN.length + int(rand, FEMALE_GIVEN.length);
    const pair = family * GIVEN.length + given;
    const { title, withDepartment } = TITLES.pick(rand);
    const department = withDepartment === 1 || rand() < withDepartment ? DEPARTMENTS.pick(rand) : '';

    const style = rand();
    const localId = LOCAL_PART_IDS[(style < 0.75 ? 0 : style < 0.85 ? 1 : 2) * PAIRS + pair] as number;
    // Domains are unique per company, so a per-company count of each local part keeps emails
    // unique; a digit suffix cannot collide with another local part, which never contains digits.
    const used = (company.localParts.get(localId) ?? 0) + 1;
    company.localParts.set(localId, used);
    const local = LOCAL_PARTS[localId] as string;
    const email = used === 1 ? `${local}@${company.domain}` : `${local}${used}@${company.domain}`;

    yield {
      corporate_number: company.corporateNumber,
      company_name: company.name,
      company_name_kana: company.kana,
      prefecture: company.prefecture,
      company_address: company.address,
      office_postal_code: company.postal,
      department,
      title,
      person_name: PERSON_NAMES[pair] as string,
      person_name_kana: PERSON_KANAS[pair] as string,
      email,
      direct_phone: `${company.areaCode}-${company.exchange}-${digits4(rand)}`,
      mobile_phone: `${MOBILE_PREFIXES.pick(rand)}-${1000 + int(rand, 9000)}-${digits4(rand)}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

const NEEDS_QUOTING = /[",\r\n]/;

/** RFC 4180: quote only when needed, double embedded quotes. */
function csvField(value: string): string {
  return NEEDS_QUOTING.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Writes `count` contacts as UTF-8 CSV (no BOM, CRLF line breaks as RFC 4180 specifies) with a
 * header row of the field names. Lines are batched so a million rows do not mean a million writes.
 */
export async function writeDemoCsv(path: string, count: number, seed: number): Promise<void> {
  const names = DEMO_CONTACT_FIELDS.map((f) => f.name);
  const out = createWriteStream(path, { encoding: 'utf8' });
  const closed = new Promise<void>((resolve, reject) => {
    out.once('close', resolve);
    out.once('error', reject);
  });
  // Marks the rejection as handled until it is awaited below: an early write error must not
  // surface as an unhandled rejection while the loop is still generating rows.
  closed.catch(() => undefined);
  try {
    let batch = names.map(csvField).join(',') + '\r\n';
    let inBatch = 0;
    for (const contact of generateDemoContacts(count, seed)) {
      batch += names.map((n) => csvField(contact[n])).join(',') + '\r\n';
      if (++inBatch === 1000) {
        if (!out.write(batch)) await Promise.race([once(out, 'drain'), closed]);
        batch = '';
        inBatch = 0;
      }
    }
    out.end(batch);
  } catch (err) {
    out.destroy();
    throw err;
  }
  await closed;
}
