#include "kafka_record.hpp"

namespace hibiki::persistence::kafka {

namespace {

constexpr std::uint8_t record_format = 1;

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_blob(std::string& out, std::string_view blob) {
  put_be(out, blob.size(), 4);
  out.append(blob);
}

/// Reads from the front of a record; any read past the end sets `bad` and yields zeros.
struct reader {
  std::string_view in;
  bool bad = false;

  std::uint64_t be(std::size_t bytes) {
    if (in.size() < bytes) {
      bad = true;
      in = {};
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
    in.remove_prefix(bytes);
    return v;
  }
  std::string_view blob() {
    const auto n = be(4);
    if (bad || in.size() < n) {
      bad = true;
      in = {};
      return {};
    }
    auto out = in.substr(0, n);
    in.remove_prefix(n);
    return out;
  }
};

error corrupt(std::string_view why) {
  return error{errc::internal, "corrupt journal record: " + std::string(why)};
}

}  // namespace

std::string encode_record(const journal_record& r) {
  std::string out;
  out.reserve(32 + r.writer.size() + r.payload.size());
  out.push_back(static_cast<char>(record_format));
  out.push_back(static_cast<char>(r.kind));
  put_be(out, r.seq, 8);
  put_blob(out, r.writer);
  if (r.kind == record_kind::delete_to) return out;
  put_blob(out,
           std::string_view(reinterpret_cast<const char*>(r.payload.data()), r.payload.size()));
  put_be(out, r.rows.size(), 4);
  for (const auto& row : r.rows) {
    out.push_back(static_cast<char>(row.tbl));
    put_blob(out, row.key);
    out.push_back(row.value ? 1 : 0);
    if (row.value) put_blob(out, *row.value);
  }
  return out;
}

result<journal_record> decode_record(std::string_view value) {
  reader in{value};
  if (in.be(1) != record_format || in.bad) return corrupt("unknown format");
  journal_record r;
  const auto kind = in.be(1);
  if (kind != static_cast<std::uint8_t>(record_kind::event) &&
      kind != static_cast<std::uint8_t>(record_kind::delete_to)) {
    return corrupt("unknown kind");
  }
  r.kind = static_cast<record_kind>(kind);
  r.seq = in.be(8);
  r.writer.assign(in.blob());
  if (r.kind == record_kind::event) {
    const auto payload = in.blob();
    r.payload.assign(payload.begin(), payload.end());
    const auto rows = in.be(4);
    // Every row takes at least 6 bytes, so a huge count in a short record is garbage, not a
    // reason to reserve gigabytes.
    if (in.bad || rows > in.in.size() / 6) return corrupt("bad row count");
    for (std::uint64_t i = 0; i < rows && !in.bad; ++i) {
      read_model::row_op row;
      const auto tbl = in.be(1);
      if (tbl >= read_model::table_count) return corrupt("unknown read-model table");
      row.tbl = static_cast<read_model::table>(tbl);
      row.key.assign(in.blob());
      const auto has_value = in.be(1);
      if (has_value > 1) return corrupt("bad row flag");
      if (has_value == 1) row.value = std::string(in.blob());
      r.rows.push_back(std::move(row));
    }
  }
  if (in.bad) return corrupt("truncated");
  if (!in.in.empty()) return corrupt("trailing bytes");
  if (r.kind == record_kind::event && (r.seq == 0 || r.payload.empty())) {
    return corrupt("event without seq or payload");
  }
  return r;
}

}  // namespace hibiki::persistence::kafka
