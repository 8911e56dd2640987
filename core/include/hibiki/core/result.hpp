#pragma once
/// `result<T>`: a value or an `error`. Used on every fallible path instead of exceptions, so a
/// failure is a value the caller has to look at.

#include <cassert>
#include <utility>
#include <variant>

#include "hibiki/core/errc.hpp"

namespace hibiki {

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  result(hibiki::error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT
  result(errc code, std::string message)
      : v_(std::in_place_index<1>, hibiki::error{code, std::move(message)}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const hibiki::error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, hibiki::error> v_;
};

/// The result of an operation that returns nothing but can fail.
class [[nodiscard]] status {
 public:
  status() = default;
  status(hibiki::error err) : err_(std::move(err)), failed_(true) {}  // NOLINT: implicit on purpose
  status(errc code, std::string message) : err_{code, std::move(message)}, failed_(true) {}

  static status success() { return {}; }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const hibiki::error& error() const {
    assert(failed_);
    return err_;
  }

 private:
  hibiki::error err_;
  bool failed_ = false;
};

}  // namespace hibiki
