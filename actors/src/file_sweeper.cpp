#include "file_sweeper.hpp"

#include <functional>
#include <unordered_map>
#include <vector>

#include "hibiki/core/log.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"
#include "messages.hpp"

namespace hibiki::actors {

namespace {

struct chore {
  room_id room;
  file_id file;
};

class file_sweeper : public caf::event_based_actor {
 public:
  file_sweeper(caf::actor_config& cfg, std::shared_ptr<node_context> ctx,
               std::shared_ptr<sweeper_stats> stats)
      : caf::event_based_actor(cfg), ctx_(std::move(ctx)), stats_(std::move(stats)) {}

  caf::behavior make_behavior() override {
    schedule();
    return {
        [this](sweep_atom) { start_pass(); },
        [this](tagged_reply& r) {
          auto it = pending_.find(r.tag);
          if (it == pending_.end()) return;
          auto cont = std::move(it->second);
          pending_.erase(it);
          cont(r.reply);
        },
    };
  }

 private:
  using continuation = std::function<void(command_reply&)>;

  void schedule() { delayed_send(this, ctx_->options.file_sweep_interval, sweep_atom::value); }

  reply_fn make_reply(continuation cont) {
    auto tag = next_tag_++;
    pending_.emplace(tag, std::move(cont));
    return [self = caf::actor_cast<caf::actor>(this), tag](command_reply r) {
      caf::anon_send(self, tagged_reply{tag, std::move(r)});
    };
  }

  /// Runs `fn` on an io thread and continues here with its reply.
  void on_io(std::function<command_reply()> fn, continuation cont) {
    auto reply = make_reply(std::move(cont));
    ctx_->deps.io->post([fn = std::move(fn), reply = std::move(reply)] {
      command_reply r;
      try {
        r = fn();
      } catch (const std::exception& ex) {
        r = command_reply::fail(errc::internal, ex.what());
      }
      reply(std::move(r));
    });
  }

  void start_pass() {
    if (ctx_->stopping || !ctx_->objects) return;
    ++stats_->passes;
    const auto now = ctx_->now();
    const auto grace = static_cast<unix_time>(ctx_->options.file_grace.count());
    auto due = std::make_shared<std::vector<chore>>();
    on_io(
        [ctx = ctx_, now, grace, due] {
          auto st = ctx->deps.reads->scan(
              read_model::table::file_chores, read_model::be64(0), read_model::be64(UINT64_MAX),
              max_chores_per_sweep, false, [&](std::string_view, std::string_view value) {
                auto j = nlohmann::json::parse(value, nullptr, false);
                if (j.is_discarded() || !j.is_object()) return true;
                const auto status = j.value("status", "");
                const auto when = j.value("due", std::int64_t{0});
                const bool ready = status == "expired" || (status == "pending" && now >= when) ||
                                   (status == "hidden" && now >= when + grace);
                if (ready) {
                  due->push_back({room_id{j.value("room_id", std::uint64_t{0})},
                                  file_id{j.value("file_id", std::uint64_t{0})}});
                }
                return true;
              });
          return st ? command_reply::ok() : command_reply::fail(st.error());
        },
        [this, due, now, grace](command_reply& r) {
          if (r.err) {
            ++stats_->failed;
            log::warn("files") << "sweeper could not read its chores: " << r.err->message;
            return schedule();
          }
          left_ = due->size();
          if (left_ == 0) return schedule();
          for (const auto& c : *due) retire(c, now, grace);
        });
  }

  /// One file of the pass is finished: `removed` (its object went), skipped (not due after all:
  /// neither), or failed (retried next pass).
  void step_done(bool removed, bool failed) {
    if (removed) ++stats_->removed;
    if (failed) ++stats_->failed;
    if (left_ > 0 && --left_ == 0) schedule();
  }

  void to_room(room_id room, room::command cmd, continuation cont) {
    send(ctx_->rooms, entity_command<room::command>{entity_of(room), std::move(cmd),
                                                    make_reply(std::move(cont))});
  }

  void retire(chore c, unix_time now, unix_time grace) {
    to_room(c.room, room::retire_file{{}, c.file, now, grace}, [this, c](command_reply& r) {
      if (r.err) {
        log::warn("files") << "sweeper: room " << c.room.value << " file " << c.file.value
                           << " not retired: " << r.err->message;
        return step_done(false, true);
      }
      // Completed meanwhile, or its grace period is not over by the room's clock: not yet.
      if (!r.fields.value("remove", false)) return step_done(false, false);
      remove_object(c, r.fields.value("object_key", ""));
    });
  }

  void remove_object(chore c, std::string key) {
    on_io(
        [store = ctx_->objects, key = std::move(key)] {
          auto st = store->remove(key);
          return st ? command_reply::ok() : command_reply::fail(st.error());
        },
        [this, c](command_reply& r) {
          if (r.err) {
            log::warn("files") << "sweeper: the object of room " << c.room.value << " file "
                               << c.file.value << " was not removed: " << r.err->message;
            return step_done(false, true);
          }
          forget(c);
        });
  }

  void forget(chore c) {
    to_room(c.room, room::forget_file{{}, c.file}, [this, c](command_reply& r) {
      if (r.err) {
        log::warn("files") << "sweeper: room " << c.room.value << " did not forget file "
                           << c.file.value << ": " << r.err->message;
      }
      step_done(!r.err, r.err.has_value());
    });
  }

  std::shared_ptr<node_context> ctx_;
  std::shared_ptr<sweeper_stats> stats_;
  std::unordered_map<std::uint64_t, continuation> pending_;
  std::uint64_t next_tag_ = 1;
  std::size_t left_ = 0;  ///< files of the current pass not finished yet
};

}  // namespace

caf::actor spawn_file_sweeper(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                              std::shared_ptr<sweeper_stats> stats) {
  return sys.spawn<file_sweeper>(std::move(ctx), std::move(stats));
}

}  // namespace hibiki::actors
