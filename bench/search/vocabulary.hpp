#pragma once
/// The words the search benchmark's messages are made of: Japanese nouns, particles, sentence
/// endings and set phrases of office chat, English words of the same, and people's names. Each
/// list runs from common to rare: the corpus draws from it by Zipf's law over that order, so the
/// first words are in a large share of the messages and the last ones in few.

#include <span>
#include <string_view>

namespace hibiki::bench::search::vocabulary {

/// Kanji and katakana nouns: office chat first, then places, daily life, and specialist words.
std::span<const std::string_view> ja_nouns();
/// Particles that join two nouns or a noun and an ending ("の", "を", "について", ...).
std::span<const std::string_view> ja_particles();
/// How a sentence ends ("確認します", "お願いします", ...).
std::span<const std::string_view> ja_endings();
/// Whole phrases that stand alone ("お疲れ様です", "よろしくお願いします", ...).
std::span<const std::string_view> ja_phrases();

/// English nouns, verbs (base and past), adjectives and time phrases for the sentence patterns.
std::span<const std::string_view> en_nouns();
std::span<const std::string_view> en_verbs();
std::span<const std::string_view> en_verbs_past();  ///< the same verbs, same order, past tense
std::span<const std::string_view> en_adjectives();
std::span<const std::string_view> en_times();
std::span<const std::string_view> en_greetings();
/// Product and tool names that appear in both languages' messages ("GitHub", "Excel", ...).
std::span<const std::string_view> tools();

/// Family and given names, Japanese and English, for account names and `[To:id]NAMEさん`.
std::span<const std::string_view> ja_family_names();
std::span<const std::string_view> ja_given_names();
std::span<const std::string_view> en_family_names();
std::span<const std::string_view> en_given_names();

}  // namespace hibiki::bench::search::vocabulary
