#include "multipart.hpp"

#include <algorithm>
#include <cctype>

namespace hibiki::gateway {
namespace {

hibiki::error bad(std::string message) {
  return {errc::bad_request, std::move(message)};
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// A header value's `;`-separated parameters after its first item: calls `each(name, value)`
/// with quoted-strings unquoted. False when one is malformed.
template <class Each>
bool for_each_parameter(std::string_view rest, Each each) {
  while (true) {
    rest = trim(rest);
    if (rest.empty()) return true;
    if (rest.front() != ';') return false;
    rest.remove_prefix(1);
    rest = trim(rest);
    if (rest.empty()) return true;  // a trailing ';'
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) return false;
    const auto name = trim(rest.substr(0, eq));
    if (name.empty()) return false;
    rest = trim(rest.substr(eq + 1));
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      bool closed = false;
      for (; i < rest.size(); ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          value += rest[++i];
        } else if (rest[i] == '"') {
          closed = true;
          break;
        } else {
          value += rest[i];
        }
      }
      if (!closed) return false;
      rest.remove_prefix(i + 1);
    } else {
      const auto end = rest.find(';');
      value = std::string(trim(rest.substr(0, end)));
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    each(name, std::move(value));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 5987's ext-value: `UTF-8'lang'percent-encoded`. Only UTF-8 is accepted.
std::optional<std::string> decode_ext_value(std::string_view v) {
  const auto q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  const auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  if (!iequal(v.substr(0, q1), "utf-8")) return std::nullopt;
  std::string out;
  for (std::size_t i = q2 + 1; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    const int hi = hex_value(v[i + 1]);
    const int lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool boundary_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

}  // namespace

result<std::string> multipart_boundary(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  const auto type = trim(content_type.substr(0, semicolon));
  if (!iequal(type, "multipart/form-data")) {
    return bad("the body must be multipart/form-data (a file part named \"file\")");
  }
  std::optional<std::string> boundary;
  const bool well_formed = semicolon != std::string_view::npos &&
                           for_each_parameter(content_type.substr(semicolon),
                                              [&](std::string_view name, std::string value) {
                                                if (iequal(name, "boundary")) boundary = value;
                                              });
  if (!well_formed || !boundary || boundary->empty()) {
    return bad("the multipart/form-data Content-Type has no boundary parameter");
  }
  if (boundary->size() > 70 || !std::all_of(boundary->begin(), boundary->end(), boundary_char) ||
      boundary->back() == ' ') {
    return bad("the multipart boundary must be 1 to 70 characters of RFC 2046's set");
  }
  return *boundary;
}

multipart_reader::multipart_reader(std::string boundary, begin_fn on_begin, data_fn on_data,
                                   end_fn on_end)
    : delimiter_("\r\n--" + boundary),
      on_begin_(std::move(on_begin)),
      on_data_(std::move(on_data)),
      on_end_(std::move(on_end)),
      // As if the body began with a line break: the first boundary is then a delimiter too.
      pending_("\r\n") {}

status multipart_reader::fail(hibiki::error e) {
  state_ = state::failed;
  error_ = e;
  pending_.clear();
  pending_.shrink_to_fit();
  return e;
}

status multipart_reader::feed(std::string_view piece) {
  if (state_ == state::failed) return error_;
  if (state_ == state::epilogue) return {};  // what follows the closing boundary is ignored
  pending_.append(piece);
  return run();
}

status multipart_reader::finish() {
  if (state_ == state::failed) return error_;
  if (state_ != state::epilogue) {
    return fail(bad("the multipart body ended before its closing boundary (--" +
                    delimiter_.substr(4) + "--): it was cut short or is malformed"));
  }
  return {};
}

status multipart_reader::run() {
  while (true) {
    switch (state_) {
      case state::preamble:
      case state::data: {
        const auto at = pending_.find(delimiter_);
        // Everything before the delimiter (or, without one yet, all but the bytes that could be
        // its beginning) is data of the part, or preamble to drop.
        const auto keep = std::min(pending_.size(), delimiter_.size() - 1);
        const auto usable = at != std::string::npos ? at : pending_.size() - keep;
        if (state_ == state::data && usable > 0) {
          if (auto st = on_data_(std::string_view(pending_).substr(0, usable)); !st) {
            return fail(st.error());
          }
        }
        if (at == std::string::npos) {
          pending_.erase(0, usable);
          return {};
        }
        if (state_ == state::data) {
          if (auto st = on_end_(); !st) return fail(st.error());
        }
        pending_.erase(0, at + delimiter_.size());
        state_ = state::after_boundary;
        break;
      }
      case state::after_boundary: {
        if (pending_.size() < 2) return {};
        if (pending_.compare(0, 2, "--") == 0) {
          state_ = state::epilogue;
          pending_.clear();
          return {};
        }
        // Transport padding (spaces and tabs) may follow a boundary before its line break.
        std::size_t i = 0;
        while (i < pending_.size() && (pending_[i] == ' ' || pending_[i] == '\t')) ++i;
        if (i > 256) return fail(bad("malformed multipart body: a boundary line is too long"));
        if (pending_.size() < i + 2) return {};
        if (pending_.compare(i, 2, "\r\n") != 0) {
          return fail(bad("malformed multipart body: a boundary is not followed by a line break"));
        }
        pending_.erase(0, i + 2);
        if (++parts_ > max_parts) {
          return fail(
              bad("the multipart body has more than " + std::to_string(max_parts) + " parts"));
        }
        state_ = state::header;
        break;
      }
      case state::header: {
        std::size_t end = 0;
        std::size_t skip = 0;
        if (pending_.size() >= 2 && pending_.compare(0, 2, "\r\n") == 0) {
          skip = 2;  // no header lines at all
        } else {
          const auto at = pending_.find("\r\n\r\n");
          if (at == std::string::npos) {
            if (pending_.size() > max_header_bytes) {
              return fail(bad("a multipart part's header is over " +
                              std::to_string(max_header_bytes) + " bytes"));
            }
            return {};
          }
          end = at;
          skip = at + 4;
        }
        if (end > max_header_bytes) {
          return fail(bad("a multipart part's header is over " + std::to_string(max_header_bytes) +
                          " bytes"));
        }
        if (auto st = parse_header(std::string_view(pending_).substr(0, end)); !st) {
          return fail(st.error());
        }
        pending_.erase(0, skip);
        state_ = state::data;
        break;
      }
      case state::epilogue:
      case state::failed:
        return {};
    }
  }
}

status multipart_reader::parse_header(std::string_view text) {
  multipart_part part;
  bool disposition = false;
  while (!text.empty()) {
    const auto eol = text.find("\r\n");
    const auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return bad("malformed multipart body: a part's header line has no name");
    }
    const auto name = line.substr(0, colon);
    const auto value = trim(line.substr(colon + 1));
    if (iequal(name, "Content-Type")) {
      part.content_type = std::string(value);
    } else if (iequal(name, "Content-Disposition")) {
      const auto semicolon = value.find(';');
      if (!iequal(trim(value.substr(0, semicolon)), "form-data")) {
        return bad("a multipart part's Content-Disposition must be form-data");
      }
      std::optional<std::string> ext_filename;
      bool bad_ext = false;
      const bool ok =
          semicolon == std::string_view::npos ||
          for_each_parameter(value.substr(semicolon), [&](std::string_view n, std::string v) {
            if (iequal(n, "name")) {
              part.name = std::move(v);
            } else if (iequal(n, "filename")) {
              part.filename = std::move(v);
            } else if (iequal(n, "filename*")) {
              ext_filename = decode_ext_value(v);
              bad_ext = !ext_filename;
            }
          });
      if (!ok) return bad("malformed multipart body: a Content-Disposition parameter is broken");
      if (bad_ext) return bad("a part's filename* must be UTF-8''percent-encoded (RFC 5987)");
      if (ext_filename) part.filename = std::move(ext_filename);
      disposition = true;
    }
  }
  if (!disposition || part.name.empty()) {
    return bad("a multipart part has no Content-Disposition: form-data with a name");
  }
  return on_begin_(part);
}

}  // namespace hibiki::gateway
