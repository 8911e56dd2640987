#include "hibiki/core/role.hpp"

namespace hibiki {

std::string_view to_string(role r) {
  switch (r) {
    case role::admin:
      return "admin";
    case role::member:
      return "member";
    case role::readonly:
      return "readonly";
  }
  return "member";
}

std::optional<role> parse_role(std::string_view text) {
  if (text == "admin") return role::admin;
  if (text == "member") return role::member;
  if (text == "readonly") return role::readonly;
  return std::nullopt;
}

}  // namespace hibiki
