#include "corpus.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "vocabulary.hpp"

namespace hibiki::bench::search {
namespace {

// Separate streams from one seed: the world must not change when the message count does.
constexpr std::uint64_t world_stream = 0x574f524c44ULL;  // "WORLD"
constexpr std::uint64_t name_stream = 0x4e414d4553ULL;   // "NAMES"

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint32_t room_size(random_stream& rng) {
  const double u = rng.unit();
  if (u < 0.50) return static_cast<std::uint32_t>(rng.between(2, 8));
  if (u < 0.85) return static_cast<std::uint32_t>(rng.between(9, 40));
  if (u < 0.97) return static_cast<std::uint32_t>(rng.between(41, 150));
  return static_cast<std::uint32_t>(rng.between(151, 500));
}

template <class List>
std::string_view any_of(random_stream& rng, const List& list) {
  return list[rng.below(list.size())];
}

void append_number(std::string& out, std::uint64_t n) {
  out += std::to_string(n);
}

}  // namespace

// ---- world ------------------------------------------------------------------------------------

world::world(const world_options& options) : options_(options) {
  random_stream rng(options.seed ^ world_stream);
  const std::uint32_t room_count = std::max<std::uint32_t>(options.rooms, 1);
  std::vector<std::uint32_t> sizes(room_count);
  std::uint64_t total = 0;
  std::uint32_t largest = 0;
  for (auto& s : sizes) {
    s = room_size(rng);
    total += s;
    largest = std::max(largest, s);
  }
  const std::uint32_t per_account = std::max<std::uint32_t>(options.rooms_per_account, 1);
  accounts_ = std::max<std::uint32_t>(
      largest, static_cast<std::uint32_t>((total + per_account - 1) / per_account));

  std::vector<double> account_weight(accounts_);
  for (auto& w : account_weight) w = std::exp(1.0 * rng.normal());

  members_.resize(room_count);
  author_activity_.reserve(room_count);
  std::vector<double> room_weight(room_count);
  std::unordered_set<std::uint64_t> taken;
  for (std::uint32_t i = 0; i < room_count; ++i) {
    auto& m = members_[i];
    m.reserve(sizes[i]);
    taken.clear();
    while (m.size() < sizes[i]) {
      const std::uint64_t a = rng.between(1, accounts_);
      if (taken.insert(a).second) m.push_back(account_id{a});
    }
    std::vector<double> w;
    w.reserve(m.size());
    for (auto a : m) w.push_back(account_weight[a.value - 1]);
    author_activity_.emplace_back(w);
    room_weight[i] = std::exp(1.2 * rng.normal()) * std::sqrt(static_cast<double>(m.size()));
  }
  room_activity_ = weighted_choice(room_weight);
}

std::vector<room_id> world::rooms_of(account_id a) const {
  std::vector<room_id> out;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (std::find(members_[i].begin(), members_[i].end(), a) != members_[i].end())
      out.push_back(room_id{i + 1});
  }
  return out;
}

std::string world::name_of(account_id a) const {
  const std::uint64_t h = mix(a.value ^ options_.seed ^ name_stream);
  std::string name;
  if (h % 10 < 8) {
    const auto family = vocabulary::ja_family_names();
    const auto given = vocabulary::ja_given_names();
    name = family[(h >> 8) % family.size()];
    name += ' ';
    name += given[(h >> 24) % given.size()];
  } else {
    const auto family = vocabulary::en_family_names();
    const auto given = vocabulary::en_given_names();
    name = given[(h >> 24) % given.size()];
    name += ' ';
    name += family[(h >> 8) % family.size()];
  }
  return name;
}

std::string world::room_name(room_id r) const {
  static constexpr std::string_view topics[] = {
      "営業部", "開発チーム", "プロジェクト", "総務連絡", "雑談",    "経営会議",
      "採用",   "Design",     "Backend",      "Sales",    "Support", "マーケティング",
  };
  const std::uint64_t h = mix(r.value ^ options_.seed);
  std::string name(topics[h % std::size(topics)]);
  name += " #";
  append_number(name, r.value);
  return name;
}

room_id world::pick_room(random_stream& rng) const {
  return room_id{room_activity_.pick(rng) + 1};
}

account_id world::pick_author(room_id r, random_stream& rng) const {
  return members_[r.value - 1][author_activity_[r.value - 1].pick(rng)];
}

// ---- bodies -----------------------------------------------------------------------------------

body_writer::body_writer(const world& w)
    : world_(w),
      ja_nouns_(weighted_choice::zipf(vocabulary::ja_nouns().size(), 1.0)),
      en_nouns_(weighted_choice::zipf(vocabulary::en_nouns().size(), 1.0)),
      en_verbs_(weighted_choice::zipf(vocabulary::en_verbs().size(), 0.8)),
      en_adjectives_(weighted_choice::zipf(vocabulary::en_adjectives().size(), 0.8)),
      tools_(weighted_choice::zipf(vocabulary::tools().size(), 0.8)) {}

std::string_view body_writer::ja_noun(random_stream& rng) const {
  return vocabulary::ja_nouns()[ja_nouns_.pick(rng)];
}
std::string_view body_writer::en_noun(random_stream& rng) const {
  return vocabulary::en_nouns()[en_nouns_.pick(rng)];
}

void body_writer::ja_sentence(random_stream& rng, std::string& out) const {
  const auto particles = vocabulary::ja_particles();
  const auto endings = vocabulary::ja_endings();
  switch (rng.below(6)) {
    case 0:  // 会議の資料を確認します。
    case 1:
      out += ja_noun(rng);
      out += any_of(rng, particles);
      out += ja_noun(rng);
      out += rng.chance(0.5) ? "を" : "について";
      out += any_of(rng, endings);
      break;
    case 2:  // 15時から会議室で打ち合わせです。
      append_number(out, rng.between(9, 19));
      out += "時から";
      out += ja_noun(rng);
      out += "で";
      out += ja_noun(rng);
      out += rng.chance(0.5) ? "の" : "を";
      out += any_of(rng, endings);
      break;
    case 3:  // お疲れ様です。東京の案件、共有します。
      out += any_of(rng, vocabulary::ja_phrases());
      out += ja_noun(rng);
      out += "の";
      out += ja_noun(rng);
      out += "、";
      out += any_of(rng, endings);
      break;
    case 4:  // GitHubのレビューをお願いします。
      out += vocabulary::tools()[tools_.pick(rng)];
      out += "の";
      out += ja_noun(rng);
      out += any_of(rng, particles);
      out += any_of(rng, endings);
      break;
    default:  // 3件の見積書は明日までに出します。
      append_number(out, rng.between(1, 30));
      out += rng.chance(0.5) ? "件の" : "日の";
      out += ja_noun(rng);
      out += "は";
      out += ja_noun(rng);
      out += any_of(rng, particles);
      out += any_of(rng, endings);
      break;
  }
  out += rng.chance(0.85) ? "。" : "！";
}

void body_writer::en_sentence(random_stream& rng, std::string& out) const {
  const auto verb = en_verbs_.pick(rng);
  const auto adjective = vocabulary::en_adjectives()[en_adjectives_.pick(rng)];
  const auto time = any_of(rng, vocabulary::en_times());
  switch (rng.below(7)) {
    case 0:
      out += "Could you ";
      out += vocabulary::en_verbs()[verb];
      out += " the ";
      out += en_noun(rng);
      out += ' ';
      out += time;
      out += '?';
      break;
    case 1:
      out += "I ";
      out += vocabulary::en_verbs_past()[verb];
      out += " the ";
      out += adjective;
      out += ' ';
      out += en_noun(rng);
      out += " and the ";
      out += en_noun(rng);
      out += '.';
      break;
    case 2:
      out += "The ";
      out += en_noun(rng);
      out += " for the ";
      out += en_noun(rng);
      out += rng.chance(0.5) ? " is " : " will be ";
      out += adjective;
      out += ' ';
      out += time;
      out += '.';
      break;
    case 3:
      out += any_of(rng, vocabulary::en_greetings());
      out += ", please ";
      out += vocabulary::en_verbs()[verb];
      out += " the ";
      out += en_noun(rng);
      out += " in ";
      out += vocabulary::tools()[tools_.pick(rng)];
      out += '.';
      break;
    case 4:
      out += "We need to ";
      out += vocabulary::en_verbs()[verb];
      out += " the ";
      out += en_noun(rng);
      out += " before the ";
      out += en_noun(rng);
      out += '.';
      break;
    case 5:
      out += "Any update on the ";
      out += adjective;
      out += ' ';
      out += en_noun(rng);
      out += '?';
      break;
    default:
      out += "Thanks for the ";
      out += en_noun(rng);
      out += ", I will ";
      out += vocabulary::en_verbs()[verb];
      out += " it ";
      out += time;
      out += '.';
      break;
  }
}

void body_writer::mixed_sentence(random_stream& rng, std::string& out) const {
  switch (rng.below(3)) {
    case 0:  // the deploy の件、確認します。
      out += en_noun(rng);
      out += "の";
      out += ja_noun(rng);
      out += "、";
      out += any_of(rng, vocabulary::ja_endings());
      out += "。";
      break;
    case 1:  // An English sentence, then a Japanese one.
      en_sentence(rng, out);
      out += ' ';
      ja_sentence(rng, out);
      break;
    default:  // #1234 の修正を deploy しました。
      out += '#';
      append_number(out, rng.between(100, 9999));
      out += " の";
      out += ja_noun(rng);
      out += "を ";
      out += vocabulary::en_verbs()[en_verbs_.pick(rng)];
      out += " しました。";
      break;
  }
}

void body_writer::sentence(random_stream& rng, int language, std::string& out) const {
  if (language == 0) {
    ja_sentence(rng, out);
  } else if (language == 1) {
    en_sentence(rng, out);
  } else {
    mixed_sentence(rng, out);
  }
}

std::string body_writer::body(random_stream& rng, room_id r, account_id author, std::int64_t time,
                              std::uint64_t last_message) const {
  std::string out;
  const double pick_language = rng.unit();
  const int language = pick_language < 0.55 ? 0 : pick_language < 0.85 ? 1 : 2;
  const auto& members = world_.members(r);

  // Chatwork notation in front: mentions, a reply, or [toall].
  const double notation = rng.unit();
  if (notation < 0.12 && members.size() > 1) {
    const auto n = rng.between(1, std::min<std::uint64_t>(3, members.size() - 1));
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto to = members[rng.below(members.size())];
      if (to == author) continue;
      out += "[To:";
      append_number(out, to.value);
      out += ']';
      out += world_.name_of(to);
      out += "さん\n";
    }
  } else if (notation < 0.15 && last_message > 0) {
    const auto to = members[rng.below(members.size())];
    out += "[rp aid=";
    append_number(out, to.value);
    out += " to=";
    append_number(out, r.value);
    out += '-';
    append_number(out, last_message - rng.below(std::min<std::uint64_t>(last_message, 20)));
    out += ']';
    out += world_.name_of(to);
    out += "さん\n";
  } else if (notation < 0.16) {
    out += "[toall]\n";
  }
  if (rng.chance(0.01) && last_message > 0) {
    out += "[qt][qtmeta aid=";
    append_number(out, members[rng.below(members.size())].value);
    out += " time=";
    append_number(
        out, static_cast<std::uint64_t>(time - static_cast<std::int64_t>(rng.between(60, 86400))));
    out += ']';
    sentence(rng, language, out);
    out += "[/qt]\n";
  }

  const double length = rng.unit();
  if (length < 0.02) {
    // Long: minutes or a report, tens of lines, often in an [info] block.
    const bool info = rng.chance(0.5);
    if (info) {
      out += "[info][title]";
      out += language == 1 ? "Minutes: " : "議事録：";
      out += ja_noun(rng);
      out += "[/title]";
    }
    const auto lines = rng.between(20, 80);
    for (std::uint64_t i = 0; i < lines; ++i) {
      if (i > 0) out += '\n';
      if (rng.chance(0.3)) out += language == 1 ? "- " : "・";
      sentence(rng, language, out);
      if (rng.chance(0.4)) sentence(rng, language, out);
    }
    if (info) out += "[/info]";
  } else if (length < 0.10) {
    // A few sentences, sometimes on separate lines.
    const auto n = rng.between(3, 8);
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i > 0) out += rng.chance(0.4) ? "\n" : (language == 0 ? "" : " ");
      sentence(rng, language, out);
    }
  } else if (rng.chance(0.02)) {
    out += "[info][title]";
    out += ja_noun(rng);
    out += "[/title]";
    sentence(rng, language, out);
    out += "[/info]";
  } else {
    if (language == 0 && rng.chance(0.25)) out += any_of(rng, vocabulary::ja_phrases());
    sentence(rng, language, out);
    if (rng.chance(0.3)) {
      out += language == 0 ? "" : " ";
      sentence(rng, language, out);
    }
  }
  return out;
}

}  // namespace hibiki::bench::search
