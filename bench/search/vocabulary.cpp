#include "vocabulary.hpp"

#include <string_view>

namespace hibiki::bench::search::vocabulary {
namespace {

// Roughly from common to rare within each list (the corpus's Zipf ranks follow this order).
constexpr std::string_view ja_noun_list[] = {
    // office chat, most frequent
    "確認", "資料", "会議", "対応", "今日", "明日", "連絡", "共有", "予定", "作業", "修正",
    "打ち合わせ", "進捗", "報告", "来週", "担当", "案件", "お客様", "見積", "検討", "時間", "問題",
    "仕様", "変更", "提案", "準備", "開発", "テスト", "リリース", "本番環境", "設定", "障害", "調査",
    "原因", "結果", "方針", "内容", "詳細", "午後", "午前", "今週", "先週", "来月", "今月", "会社",
    "部署", "営業", "経理", "人事", "総務", "企画", "広報", "部長", "課長", "社長", "先方", "契約",
    "請求書", "見積書", "納品", "納期", "締め切り", "予算", "売上", "目標", "計画", "分析", "改善",
    "品質", "承認", "申請", "手続き", "書類", "議事録", "議題", "日程", "調整", "場所", "会議室",
    "出張", "休暇", "有給", "在宅勤務", "出社", "残業", "研修", "面接", "採用", "評価", "課題",
    "優先度", "期限", "依頼", "回答", "質問", "相談", "意見", "説明", "手順", "マニュアル", "設計",
    "実装", "レビュー", "デプロイ", "サーバー", "データベース", "ネットワーク", "セキュリティ",
    "パスワード", "アカウント", "ログイン", "エラー", "バグ", "不具合", "ログ", "バックアップ",
    "メンテナンス", "アップデート", "バージョン", "機能", "画面", "ボタン", "ファイル", "フォルダ",
    "メール", "電話", "チャット", "ミーティング", "スケジュール", "プロジェクト", "タスク", "チーム",
    "メンバー", "リーダー", "マネージャー", "クライアント", "ユーザー", "サービス", "システム", "アプリ",
    "ウェブサイト", "デザイン", "イベント", "キャンペーン", "プレゼン", "レポート", "データ", "グラフ",
    "見積依頼", "稟議", "経費精算", "交通費", "領収書", "振込", "入金", "支払い", "発注", "在庫",
    "出荷", "配送", "問い合わせ", "クレーム", "アンケート", "資料請求", "新規顧客", "既存顧客",
    "商談", "訪問", "来客", "受付", "名刺", "社内", "社外", "取引先", "協力会社", "外注",
    // places
    "東京", "大阪", "名古屋", "福岡", "札幌", "京都", "横浜", "神戸", "仙台", "広島", "新宿", "渋谷",
    "品川", "池袋", "秋葉原", "梅田", "博多", "東京都庁", "東京駅", "新大阪駅", "羽田空港",
    "成田空港", "関西空港", "本社", "支社", "営業所", "工場", "倉庫",
    // daily life
    "天気", "雨", "雪", "台風", "地震", "電車", "遅延", "新幹線", "飛行機", "昼食", "ランチ", "弁当",
    "寿司", "ラーメン", "焼肉", "居酒屋", "懇親会", "忘年会", "新年会", "歓迎会", "送別会", "誕生日",
    "お土産", "お菓子", "コーヒー", "桜", "花見", "夏休み", "年末", "年始", "ゴールデンウィーク",
    "お盆", "体調", "風邪", "病院", "健康診断", "引っ越し", "駐車場", "自転車", "子供", "家族",
    "保育園", "運動会", "週末", "連休", "祝日",
    // rarer: business and specialist words
    "株主総会", "決算", "監査", "税務署", "特許", "商標", "知的財産", "為替", "円安", "物流",
    "仕入れ", "卸売", "百貨店", "北海道", "沖縄", "鹿児島", "金沢", "富士山", "温泉", "紅葉",
    "花火大会", "七夕", "将棋", "囲碁", "野球", "相撲", "甲子園", "抹茶", "味噌汁", "納豆",
    "梅干し", "醤油", "豆腐", "天ぷら", "蕎麦", "うどん", "たこ焼き", "お好み焼き", "餃子",
    "形態素解析", "全文検索", "人工知能", "機械学習", "深層学習", "暗号化", "認証局", "負荷分散",
    "冗長化", "可用性", "耐障害性", "分散システム", "整合性", "冪等性", "量子計算", "半導体",
    "脱炭素", "再生可能エネルギー", "電気自動車", "蓄電池", "太陽光発電", "風力発電", "水素",
    "宇宙開発", "人工衛星", "遺伝子", "免疫", "臨床試験", "薬事申請", "医療機器", "介護保険",
    "年金制度", "確定申告", "住民票", "印鑑証明", "登記簿", "定款", "就業規則", "労働基準法",
    "個人情報保護法", "電子帳簿保存法", "インボイス制度", "消費税", "固定資産税", "減価償却",
    "連結決算", "有価証券報告書", "内部統制", "コンプライアンス", "ガバナンス", "サステナビリティ",
    "雅楽", "能楽", "狂言", "歌舞伎", "浮世絵", "茶道", "華道", "書道", "盆栽", "俳句",
    "短歌", "源氏物語", "枕草子", "奥の細道", "平等院鳳凰堂", "金閣寺", "清水寺", "伏見稲荷",
    "厳島神社", "姫路城", "熊野古道", "屋久島", "白川郷", "知床", "小笠原諸島", "阿蘇山",
};

constexpr std::string_view ja_particle_list[] = {
    "の", "を", "に", "は", "が", "で", "と", "について", "から", "まで", "も", "へ", "に関して",
    "の件で", "として", "より",
};

constexpr std::string_view ja_ending_list[] = {
    "確認します",       "お願いします",       "共有します",     "対応します",
    "しました",         "完了しました",       "確認しました",   "お願いいたします",
    "してください",     "ご確認ください",     "でしょうか",     "ですか？",
    "です",             "予定です",           "済みです",       "対応中です",
    "しておきます",     "しましょう",         "送ります",       "送りました",
    "よろしいでしょうか", "間に合いそうです", "少し遅れます",   "参加します",
    "欠席します",       "検討中です",         "修正しました",   "調べてみます",
    "助かりました",     "ありがとうございます", "承知しました", "了解です",
    "いかがでしょうか", "問題ありません",     "大丈夫です",     "難しそうです",
    "急ぎでお願いします", "後で見ておきます", "明日までに出します", "来週に延期します",
};

constexpr std::string_view ja_phrase_list[] = {
    "お疲れ様です。",       "よろしくお願いします。",   "ありがとうございます！",
    "承知しました。",       "了解しました。",           "失礼します。",
    "おはようございます。", "申し訳ありません。",       "すみません、",
    "助かります！",         "確認お願いします。",       "少々お待ちください。",
    "お先に失礼します。",   "今から向かいます。",       "後ほど連絡します。",
    "お手数ですが、",       "念のため、",               "取り急ぎ、",
    "ご対応ありがとうございます。", "引き続きよろしくお願いいたします。", "お大事にしてください。",
    "お久しぶりです。",     "いつもお世話になっております。", "良い週末を！",
};

constexpr std::string_view en_noun_list[] = {
    "meeting",   "update",     "review",     "release",   "issue",       "document",
    "customer",  "team",       "project",    "report",    "schedule",    "deadline",
    "server",    "bug",        "fix",        "test",      "deploy",      "build",
    "branch",    "change",     "feature",    "design",    "plan",        "budget",
    "proposal",  "draft",      "slides",     "agenda",    "notes",       "call",
    "invoice",   "contract",   "estimate",   "order",     "ticket",      "request",
    "question",  "answer",     "feedback",   "approval",  "account",     "password",
    "database",  "backup",     "network",    "error",     "log",         "config",
    "dashboard", "metrics",    "alert",      "incident",  "outage",      "rollback",
    "migration", "upgrade",    "version",    "screen",    "button",      "page",
    "link",      "file",       "folder",     "email",     "phone",       "office",
    "lunch",     "coffee",     "trip",       "flight",    "hotel",       "weather",
    "holiday",   "vacation",   "interview",  "candidate", "offer",       "onboarding",
    "training",  "workshop",   "webinar",    "campaign",  "launch",      "roadmap",
    "milestone", "sprint",     "backlog",    "retro",     "standup",     "demo",
    "prototype", "mockup",     "wireframe",  "spec",      "requirement", "quotation",
    "quote",     "shipment",   "delivery",   "warehouse", "inventory",   "supplier",
    "vendor",    "partner",    "stakeholder", "board",    "quarter",     "revenue",
    "forecast",  "audit",      "compliance", "policy",    "security",    "certificate",
    "latency",   "throughput", "cache",      "queue",     "cluster",     "replica",
    "shard",     "index",      "query",      "schema",    "endpoint",    "webhook",
    "token",     "session",    "cookie",     "firewall",  "proxy",       "container",
    "pipeline",  "benchmark",  "profiler",   "regression", "hotfix",     "changelog",
    "kubernetes", "terraform", "observability", "idempotency", "reconciliation", "procurement",
    "amortization", "depreciation", "arbitration", "indemnity", "subpoena", "escrow",
    "tokenizer",  "stemmer",   "lexicon",    "morphology", "transliteration", "kanji",
    "sushi",      "ramen",     "tempura",    "matcha",     "origami",    "karaoke",
};

constexpr std::string_view en_verb_list[] = {
    "check",   "review",   "update",   "send",    "share",    "fix",      "deploy",  "test",
    "merge",   "approve",  "schedule", "cancel",  "prepare",  "finish",   "discuss", "confirm",
    "book",    "call",     "sign",     "upload",  "download", "restart",  "migrate", "document",
    "debug",   "refactor", "estimate", "invoice", "ship",     "postpone", "escalate", "archive",
    "benchmark", "profile", "rollback", "provision", "decommission", "reconcile", "audit",
    "translate",
};

constexpr std::string_view en_verb_past_list[] = {
    "checked",  "reviewed",   "updated",   "sent",     "shared",     "fixed",     "deployed",
    "tested",   "merged",     "approved",  "scheduled", "cancelled", "prepared",  "finished",
    "discussed", "confirmed", "booked",    "called",   "signed",     "uploaded",  "downloaded",
    "restarted", "migrated",  "documented", "debugged", "refactored", "estimated", "invoiced",
    "shipped",  "postponed",  "escalated", "archived", "benchmarked", "profiled", "rolled back",
    "provisioned", "decommissioned", "reconciled", "audited", "translated",
};
static_assert(std::size(en_verb_list) == std::size(en_verb_past_list));

constexpr std::string_view en_adjective_list[] = {
    "new",      "latest",    "final",     "updated",   "current",  "next",      "urgent",
    "quick",    "small",     "big",       "important", "shared",   "internal",  "external",
    "weekly",   "monthly",   "quarterly", "annual",    "revised",  "pending",   "broken",
    "slow",     "flaky",     "critical",  "minor",     "detailed", "rough",     "official",
    "temporary", "legacy",   "redundant", "deprecated", "idempotent", "asynchronous",
};

constexpr std::string_view en_time_list[] = {
    "today",      "tomorrow",       "this afternoon", "tonight",      "next week",
    "on Monday",  "on Friday",      "by end of day",  "this week",    "next month",
    "on Tuesday", "on Wednesday",   "on Thursday",    "before lunch", "after the meeting",
    "by Q3",      "before the holidays",
};

constexpr std::string_view en_greeting_list[] = {
    "Hi",   "Thanks", "Hello", "Morning", "Hey team", "FYI", "Quick question", "Heads up",
    "Sorry", "Good news", "Reminder",
};

constexpr std::string_view tool_list[] = {
    "GitHub", "Slack",  "Zoom",   "Excel",      "PowerPoint", "PDF",    "AWS",     "Docker",
    "API",    "URL",    "Jira",   "Confluence", "Figma",      "Notion", "Chatwork", "Teams",
    "Xapian", "RocksDB", "Kafka", "Grafana",    "Prometheus", "Sentry", "Jenkins", "Terraform",
};

constexpr std::string_view ja_family_list[] = {
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
    "山崎", "森", "池田", "橋本", "阿部", "石川", "山下", "中島", "石井", "小川",
};

constexpr std::string_view ja_given_list[] = {
    "健太", "翔太", "大輔", "拓也", "直樹", "悠人", "陽菜", "結衣", "美咲", "さくら",
    "葵",   "花子", "太郎", "一郎", "恵",   "真由美", "裕子", "誠", "隆", "亮",
};

constexpr std::string_view en_family_list[] = {
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Walker",
};

constexpr std::string_view en_given_list[] = {
    "Alex", "Sam", "Chris", "Jordan", "Taylor", "Emma", "Olivia", "Liam", "Noah", "Mia",
};

}  // namespace

std::span<const std::string_view> ja_nouns() { return ja_noun_list; }
std::span<const std::string_view> ja_particles() { return ja_particle_list; }
std::span<const std::string_view> ja_endings() { return ja_ending_list; }
std::span<const std::string_view> ja_phrases() { return ja_phrase_list; }
std::span<const std::string_view> en_nouns() { return en_noun_list; }
std::span<const std::string_view> en_verbs() { return en_verb_list; }
std::span<const std::string_view> en_verbs_past() { return en_verb_past_list; }
std::span<const std::string_view> en_adjectives() { return en_adjective_list; }
std::span<const std::string_view> en_times() { return en_time_list; }
std::span<const std::string_view> en_greetings() { return en_greeting_list; }
std::span<const std::string_view> tools() { return tool_list; }
std::span<const std::string_view> ja_family_names() { return ja_family_list; }
std::span<const std::string_view> ja_given_names() { return ja_given_list; }
std::span<const std::string_view> en_family_names() { return en_family_list; }
std::span<const std::string_view> en_given_names() { return en_given_list; }

}  // namespace hibiki::bench::search::vocabulary
