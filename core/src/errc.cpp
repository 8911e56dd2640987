#include "hibiki/core/errc.hpp"

namespace hibiki {

std::string_view wire_name(errc code) {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::bad_request:
      return "bad_request";
    case errc::unauthenticated:
      return "unauthenticated";
    case errc::forbidden:
      return "forbidden";
    case errc::not_found:
      return "not_found";
    case errc::too_large:
      return "too_large";
    case errc::rate_limited:
      return "rate_limited";
    case errc::conflict:
      return "conflict";
    case errc::unavailable:
      return "unavailable";
    case errc::internal:
      return "internal";
    case errc::moved:
      return "unavailable";
  }
  // An out-of-range value is a bug somewhere; say so on the wire rather than invent a code.
  return "internal";
}

namespace {

class hibiki_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hibiki"; }
  std::string message(int ev) const override {
    return std::string(wire_name(static_cast<errc>(ev)));
  }
};

}  // namespace

const std::error_category& hibiki_category() noexcept {
  static const hibiki_error_category category;
  return category;
}

std::error_code make_error_code(errc code) noexcept {
  return {static_cast<int>(code), hibiki_category()};
}

}  // namespace hibiki
