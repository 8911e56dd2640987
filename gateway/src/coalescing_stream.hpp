#pragma once
/// A write-behind stream layer that sits between a websocket::stream and its TCP stream and turns
/// many small frame writes into one socket write.
///
/// Why a layer: Beast writes one WebSocket frame per async_write_some and waits for it, and it also
/// writes on its own (pongs, keep-alive pings, close frames), so the gateway cannot write raw
/// frames to the socket beside it without risking interleaved bytes. Below Beast every byte it
/// writes, control frames included, passes through here in order. A write is copied into `pending_`
/// and completes at once; one socket write at a time carries everything pending. While that write
/// is in flight, the frames queued meanwhile gather in `pending_` and leave together in the next
/// one. While its user has more frames queued it corks the layer (cork()/uncork()): the frames it
/// drains through Beast then pile up in `pending_` and leave in one socket write at uncork(), or
/// every `cork_limit` bytes.
///
/// Data frames need no Beast write at all: append_frame() puts a whole frame (header and payload,
/// see ws_frame.hpp) straight into `pending_`, with no handler and no trip through the strand. It
/// cannot land inside a frame of Beast's: Beast writes only its control frames here then (pongs,
/// keep-alive pings, the close frame; at most 127 bytes each), and each arrives in a single
/// async_write_some that is copied whole before it returns.
///
/// Bounded by its user: the ws_session counts unflushed_bytes() against its outgoing cap, so a
/// client that stops reading is disconnected instead of growing this buffer.
///
/// Threading: every call runs on the connection's strand (the TCP stream's executor).

#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "beast_fwd.hpp"

namespace hibiki::gateway {

template <class NextLayer>
class coalescing_stream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class... Args>
  explicit coalescing_stream(Args&&... args) : next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  /// The object whose lifetime covers this layer (the connection). An in-flight socket write
  /// holds it, so the buffer it writes from stays alive.
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  /// Holds accepted bytes back until uncork() (or until `cork_limit` bytes are pending).
  void cork() { corked_ = true; }
  void uncork() {
    corked_ = false;
    if (!flush_active_ && !pending_.empty()) start_flush();
  }

  /// Bytes accepted from above and not yet written to the socket.
  std::size_t unflushed_bytes() const { return pending_.size() + flushing_.size(); }
  /// Frames given to append_frame() and not yet written to the socket.
  std::size_t unflushed_frames() const { return pending_frames_ + flushing_frames_; }

  /// Takes one whole frame, `header` then `payload`, at once (no completion handler); it leaves
  /// like any accepted write. False, and nothing kept, once a socket write has failed.
  bool append_frame(std::string_view header, std::string_view payload) {
    if (error_) return false;
    const auto old = pending_.size();
    pending_.resize(old + header.size() + payload.size());
    std::memcpy(pending_.data() + old, header.data(), header.size());
    if (!payload.empty())
      std::memcpy(pending_.data() + old + header.size(), payload.data(), payload.size());
    ++pending_frames_;
    if (!flush_active_ && (!corked_ || pending_.size() >= cork_limit)) start_flush();
    return true;
  }
  /// Socket writes started, and writes accepted from above (frames, including control frames).
  std::size_t socket_writes() const { return socket_writes_; }
  std::size_t accepted_writes() const { return accepted_writes_; }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return net::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
        [this](auto&& h, const ConstBufferSequence& b) {
          if (error_) {
            net::post(get_executor(), beast::bind_front_handler(std::move(h), error_, 0));
            return;
          }
          const auto n = net::buffer_size(b);
          const auto old = pending_.size();
          pending_.resize(old + n);
          net::buffer_copy(net::buffer(pending_.data() + old, n), b);
          ++accepted_writes_;
          if (!flush_active_ && (!corked_ || pending_.size() >= cork_limit)) start_flush();
          net::post(get_executor(),
                    beast::bind_front_handler(std::move(h), beast::error_code{}, n));
        },
        handler, buffers);
  }

  /// Called on the strand after every socket write that succeeded (the backlog just shrank).
  void set_flush_listener(std::function<void()> f) { flush_listener_ = std::move(f); }

  /// Runs `f` once everything accepted so far is on the socket (or the socket failed).
  void when_flushed(std::function<void(beast::error_code)> f) {
    if (!flush_active_ && pending_.empty()) {
      net::post(get_executor(), [f = std::move(f), ec = error_] { f(ec); });
      return;
    }
    waiters_.push_back(std::move(f));
  }

 private:
  void start_flush() {
    auto owner = owner_.lock();
    if (!owner) {
      // The connection is being destroyed: nothing will read these bytes.
      pending_.clear();
      pending_frames_ = 0;
      return;
    }
    flush_active_ = true;
    flushing_.swap(pending_);
    flushing_frames_ = std::exchange(pending_frames_, 0);
    ++socket_writes_;
    net::async_write(next_, net::buffer(flushing_),
                     [this, owner = std::move(owner)](beast::error_code ec, std::size_t) {
                       flushing_.clear();
                       flushing_frames_ = 0;
                       flush_active_ = false;
                       if (ec) {
                         error_ = ec;
                         pending_.clear();
                         pending_frames_ = 0;
                       } else if (!pending_.empty()) {
                         if (!corked_ || pending_.size() >= cork_limit) start_flush();
                         if (flush_listener_) flush_listener_();
                         return;  // waiters wait for these bytes too
                       }
                       if (!ec && flush_listener_) flush_listener_();
                       // Everything is on the socket: give the buffers back, so an idle
                       // connection holds none (and not the size of its largest burst).
                       // (The listener may have started another write: not then.)
                       if (!flush_active_ && pending_.empty()) {
                         pending_.shrink_to_fit();
                         flushing_.shrink_to_fit();
                       }
                       auto waiters = std::move(waiters_);
                       waiters_.clear();
                       for (auto& w : waiters) w(error_);
                     });
  }

  static constexpr std::size_t cork_limit = 64 * 1024;

  NextLayer next_;
  bool corked_ = false;
  std::weak_ptr<void> owner_;
  std::vector<char> pending_;   ///< accepted, waiting for the next socket write
  std::vector<char> flushing_;  ///< being written by the socket write in flight
  bool flush_active_ = false;
  std::size_t pending_frames_ = 0;   ///< append_frame() frames in pending_
  std::size_t flushing_frames_ = 0;  ///< append_frame() frames in flushing_
  beast::error_code error_;          ///< the first socket write error; later writes fail with it
  std::vector<std::function<void(beast::error_code)>> waiters_;
  std::function<void()> flush_listener_;
  std::size_t socket_writes_ = 0;
  std::size_t accepted_writes_ = 0;
};

/// Closing a WebSocket tears down the layer below it; first let the close frame reach the socket.
template <class NextLayer>
void teardown(beast::role_type role, coalescing_stream<NextLayer>& s, beast::error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class NextLayer, class TeardownHandler>
void async_teardown(beast::role_type role, coalescing_stream<NextLayer>& s,
                    TeardownHandler&& handler) {
  // std::function needs a copyable callable; the handler is move-only, so share it.
  auto h = std::make_shared<std::decay_t<TeardownHandler>>(std::forward<TeardownHandler>(handler));
  s.when_flushed([role, &s, h](beast::error_code) {
    using beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::move(*h));
  });
}

}  // namespace hibiki::gateway
