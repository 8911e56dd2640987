#pragma once
/// The search benchmark's random numbers: xoshiro256** seeded through splitmix64, and the few
/// distributions the corpus needs, written out here (not <random>'s) so that one seed gives the
/// same corpus with every standard library.

#include <cmath>
#include <cstdint>
#include <vector>

namespace hibiki::bench::search {

class random_stream {
 public:
  explicit random_stream(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform in [0, n); n > 0. (The modulo bias is below 2^-40 for the n used here.)
  std::uint64_t below(std::uint64_t n) { return next() % n; }

  /// Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }

  /// True with probability p.
  bool chance(double p) { return unit() < p; }

  /// A standard normal deviate (Box-Muller; one of the pair is dropped to keep no state).
  double normal() {
    const double u1 = 1.0 - unit();  // (0, 1]: log stays finite
    const double u2 = unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t s_[4];
};

/// Picks index i with probability weight[i] / sum: a cumulative table and a binary search.
class weighted_choice {
 public:
  weighted_choice() = default;
  explicit weighted_choice(const std::vector<double>& weights) {
    cumulative_.reserve(weights.size());
    double sum = 0;
    for (double w : weights) cumulative_.push_back(sum += w);
  }
  /// Zipf's law over n ranks: rank r (from 0) has weight 1 / (r + 1)^s.
  static weighted_choice zipf(std::size_t n, double s) {
    std::vector<double> w(n);
    for (std::size_t r = 0; r < n; ++r) w[r] = 1.0 / std::pow(static_cast<double>(r + 1), s);
    return weighted_choice(w);
  }

  std::size_t size() const { return cumulative_.size(); }
  /// The probability of index i.
  double probability(std::size_t i) const {
    const double before = i == 0 ? 0.0 : cumulative_[i - 1];
    return (cumulative_[i] - before) / cumulative_.back();
  }

  std::size_t pick(random_stream& rng) const {
    const double x = rng.unit() * cumulative_.back();
    std::size_t lo = 0, hi = cumulative_.size() - 1;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (cumulative_[mid] > x) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

 private:
  std::vector<double> cumulative_;
};

}  // namespace hibiki::bench::search
