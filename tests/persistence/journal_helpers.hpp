#pragma once
/// Small helpers the persistence tests share: fresh ids, events, and replay into a vector.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hibiki/persistence/journal.hpp"

namespace hibiki::testkit {

/// A random lowercase id, e.g. for entity and writer ids that no other test uses.
inline std::string random_id(const std::string& prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = prefix + "-";
  for (int i = 0; i < 12; ++i) id.push_back(alphabet[rng() % (sizeof(alphabet) - 1)]);
  return id;
}

inline persistence::bytes payload_of(const std::string& text) {
  return persistence::bytes(text.begin(), text.end());
}

/// The payload the suites write for (entity, seq), so a replay can check it got the right bytes.
inline persistence::bytes payload_for(const entity_id& entity, seq_nr seq) {
  return payload_of(entity + "/event-" + std::to_string(seq));
}

inline persistence::persisted_event event(const entity_id& entity, seq_nr seq,
                                          const std::string& writer) {
  return {entity, seq, writer, payload_for(entity, seq)};
}

/// An append of the events first..last (inclusive) in one atomic request.
inline persistence::append_request events(const entity_id& entity, seq_nr first, seq_nr last,
                                          const std::string& writer) {
  persistence::append_request req{entity, {}, {}};
  for (seq_nr s = first; s <= last; ++s) req.events.push_back(event(entity, s, writer));
  return req;
}

/// errc::ok for success, else the error code: lets a test compare a status in one CHECK.
inline errc code_of(const status& s) {
  return s.ok() ? errc::ok : s.error().code;
}

/// Replays into a vector; a failed replay fails the calling test through `ok`.
inline std::vector<persistence::persisted_event> replay_all(persistence::journal& j,
                                                            const entity_id& entity, seq_nr from,
                                                            seq_nr to, std::uint64_t max,
                                                            status* st = nullptr) {
  std::vector<persistence::persisted_event> out;
  auto s = j.replay(entity, from, to, max,
                    [&](const persistence::persisted_event& e) { out.push_back(e); });
  if (st) *st = s;
  return out;
}

inline std::vector<seq_nr> seqs_of(const std::vector<persistence::persisted_event>& evs) {
  std::vector<seq_nr> out;
  for (const auto& e : evs) out.push_back(e.seq);
  return out;
}

}  // namespace hibiki::testkit
