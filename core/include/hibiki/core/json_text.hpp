#pragma once
/// JSON text written straight to bytes, for the hot frames (a send_message reply, a
/// message_created push) that were built as a DOM only to be dumped at once. The output is
/// byte for byte what nlohmann::json's compact dump gives for the same document with
/// error_handler_t::replace (keys in std::map order, no spaces, the same escapes, invalid UTF-8
/// replaced by U+FFFD), so clients see exactly the frames they saw before.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hibiki::json_text {

/// Appends `s` as a JSON string literal, quotes included.
void append_string(std::string& out, std::string_view s);
/// Appends an integer as nlohmann writes it.
void append_number(std::string& out, std::uint64_t v);
void append_number(std::string& out, std::int64_t v);
/// Appends `"key":` (the key escaped).
void append_key(std::string& out, std::string_view key);
/// Appends any value as nlohmann's compact dump writes it (scalars without a DOM round trip).
void append_value(std::string& out, const nlohmann::json& v);

}  // namespace hibiki::json_text
