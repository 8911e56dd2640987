#pragma once
/// A fixed-size log-linear histogram of latencies in microseconds: exact below 64 µs, then 64
/// buckets per power of two (under 1.6% error), so millions of samples cost no memory and two
/// histograms merge by adding counts.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace hibiki::bench {

class latency_histogram {
 public:
  void record(std::uint64_t micros) {
    ++counts_[index_of(micros)];
    ++total_;
    if (micros > max_) max_ = micros;
  }

  void merge(const latency_histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  /// The value at quantile q (0..1), as the middle of its bucket; 0 when empty.
  double quantile_micros(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      // A bucket's middle can lie above the largest sample in it: never report past the max.
      if (seen > rank) return std::min(middle_of(i), static_cast<double>(max_));
    }
    return static_cast<double>(max_);
  }

 private:
  static constexpr unsigned sub_bits = 6;
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;
  // Values up to 2^40 µs (12 days) have a bucket; larger ones share the last.
  static constexpr std::size_t groups = 41 - sub_bits + 1;

  static std::size_t index_of(std::uint64_t v) {
    if (v < sub_count) return static_cast<std::size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const std::size_t group = msb - sub_bits + 1;
    if (group >= groups) return groups * sub_count - 1;
    const std::uint64_t sub = (v >> (msb - sub_bits)) - sub_count;
    return group * sub_count + static_cast<std::size_t>(sub);
  }

  static double middle_of(std::size_t index) {
    const std::size_t group = index / sub_count;
    const std::uint64_t sub = index % sub_count;
    if (group == 0) return static_cast<double>(sub);
    const std::uint64_t width = std::uint64_t{1} << (group - 1);
    const std::uint64_t low = (sub_count + sub) << (group - 1);
    return static_cast<double>(low) + static_cast<double>(width) / 2.0;
  }

  std::array<std::uint64_t, groups * sub_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace hibiki::bench
